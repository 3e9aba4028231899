// Issue 16, third round: the subspace residual in the head's own input space (the standardised
// 15136-d features the softmax regression reads, as ViM computes it), instead of or beside the
// shipped residual in the 2080-d open-set space. Leave-one-class-out as in §13/§15; per fold the
// shipped recipe (standardiser + softmax head, subspace of rank 512 on the open-set features),
// and a subspace of rank `r` on the fold's standardised training rows (originals only, to keep
// the 15136² covariance affordable). Weights are reported for a small grid and chosen nested
// (on the other nine folds) so the figure is not picked on the fold it is scored on.
// Usage: node bin/run-ts.js research/loco-head-residual.ts [rank=512] [nonfish dir]
// (AQUAML_RESEARCH_MODEL: another model directory; research/shipped.ts)
import { resolve } from 'node:path';
import { backboneInt8, noveltySettings } from '../src/ml/artifact/manifest.ts';
import { BackbonePool } from '../src/ml/backbone/session.ts';
import { sha256File } from '../src/ml/data/dataset.ts';
import { embedItems } from '../src/ml/embed/embedder.ts';
import { listImagesRecursive } from '../src/ml/evaluate/evaluate-model.ts';
import { locoTable } from '../src/ml/evaluate/leave-one-class-out.ts';
import { MatMulABt } from '../src/ml/gemm.ts';
import { headLogits } from '../src/ml/head/head.ts';
import { fitStandardizer, pack, standardize } from '../src/ml/head/standardize.ts';
import { fitNoveltyModel, noveltyFeatures, noveltyPartScores, scaleOf } from '../src/ml/novelty.ts';
import { openSetFeatures, quantile } from '../src/ml/openset.ts';
import { fitPrincipalSubspace, residualScores } from '../src/ml/subspace.ts';
import { classWeights } from '../src/ml/train/fit-heads.ts';
import { trainSoftmaxGemm } from '../src/ml/train/softmax-gemm.ts';
import { shippedSpecies } from './shipped.ts';

const rank = Number(process.argv[2] ?? 512);
const nonfishDir = process.argv[3];
const { manifest, taps, bspec, spec, train, val, labels, yOf, l2, maxIter } =
  await shippedSpecies();
const pool = new BackbonePool(resolve('data/store'));
let trOrig: Float32Array[], trFlip: Float32Array[], valRows: Float32Array[];
let nonfish: Float32Array[] = [];
try {
  const session = await pool.get(manifest.backbone.id, taps, backboneInt8(manifest.backbone));
  const common = { session, spec, taps, flip: true, cacheDir: resolve('data/embed-cache') };
  const tr = await embedItems(train.items, common);
  trOrig = tr.original;
  trFlip = tr.flipped!;
  valRows = (await embedItems(val.items, { ...common, flip: false })).original;
  if (nonfishDir) {
    const paths = await listImagesRecursive(resolve(nonfishDir));
    const items = await Promise.all(
      paths.map(async (path) => ({ path, label: '', sha256: await sha256File(path) })),
    );
    nonfish = (await embedItems(items, { ...common, flip: false })).original;
  }
} finally {
  await pool.close();
}
const yTr = yOf(train.items);
const yVal = yOf(val.items);
const nv = manifest.novelty!;
const settings = noveltySettings(nv);
const openNov = (r: Float32Array) =>
  noveltyFeatures(openSetFeatures(r, taps, bspec.width, manifest.open_set.feature_space));
const valNov = valRows.map(openNov);
const trainRows = [...trOrig, ...trFlip];
const trainNov = trainRows.map(openNov);
const trainY = Int32Array.from([...yTr, ...yTr]);

interface Parts {
  ml: number[];
  ro: number[];
  rh: number[];
}
/** Parts of one fit (k classes in `keep`), scored on `rows` (raw) and their open-set features. */
async function fitAndScore(
  keep: (c: number) => boolean,
  scored: { raw: Float32Array[]; nov: Float32Array[] }[],
  mm: MatMulABt,
): Promise<Parts[]> {
  const idx = [...trainY.keys()].filter((i) => keep(trainY[i]));
  const kept = [...new Set(idx.map((i) => trainY[i]))].sort((a, b) => a - b);
  const y = Int32Array.from(idx, (i) => kept.indexOf(trainY[i]));
  const k = kept.length;
  const rows = idx.map((i) => trainRows[i]);
  const st = fitStandardizer(rows);
  const std = rows.map((r) => standardize(st, r));
  const head = await trainSoftmaxGemm(pack(std), y, k, {
    l2,
    classWeights: classWeights(y, k),
    maxIter,
  });
  const model = await fitNoveltyModel(
    idx.map((i) => trainNov[i]),
    y,
    k,
    settings,
    mm,
  );
  // Originals only (the first half of the rows): the mirrors add little to a covariance.
  const sub = await fitPrincipalSubspace(
    std.filter((_, j) => idx[j] < trOrig.length),
    rank,
    mm,
  );
  const out: Parts[] = [];
  for (const s of scored) {
    const sStd = s.raw.map((r) => standardize(st, r));
    const ml = sStd.map((r) => Math.max(...headLogits(head, r)));
    const parts = await noveltyPartScores(model, s.nov, ml, mm);
    out.push({ ml, ro: parts.residual!, rh: await residualScores(sub, sStd, mm) });
  }
  return out;
}

type Combo = { name: string; w: (p: Parts, i: number, z: Zs) => number };
type Zs = Record<keyof Parts, (v: number) => number>;
const combos: Combo[] = [
  { name: 'max-logit', w: (p, i) => p.ml[i] },
  { name: 'residual, head space', w: (p, i) => p.rh[i] },
  {
    name: 'z(ml) + 0.5·z(residual open-set) (shipped)',
    w: (p, i, z) => z.ml(p.ml[i]) + 0.5 * z.ro(p.ro[i]),
  },
  ...[0.3, 0.5, 0.7, 1].map((w) => ({
    name: `z(ml) + ${w}·z(residual head)`,
    w: (p: Parts, i: number, z: Zs) => z.ml(p.ml[i]) + w * z.rh(p.rh[i]),
  })),
  ...[0.3, 0.5].map((w) => ({
    name: `z(ml) + 0.5·z(residual open-set) + ${w}·z(residual head)`,
    w: (p: Parts, i: number, z: Zs) => z.ml(p.ml[i]) + 0.5 * z.ro(p.ro[i]) + w * z.rh(p.rh[i]),
  })),
];
const zsOf = (p: Parts, known: number[]): Zs => {
  const z = (xs: number[]) => {
    const s = scaleOf(known.map((i) => xs[i]));
    return (v: number) => (v - s.median) / s.iqr;
  };
  return { ml: z(p.ml), ro: z(p.ro), rh: z(p.rh) };
};

const mm = await MatMulABt.create();
try {
  const folds: { label: string; parts: Parts; known: number[]; unknown: number[] }[] = [];
  for (let left = 0; left < labels.length; left++) {
    const t0 = performance.now();
    const [parts] = await fitAndScore((c) => c !== left, [{ raw: valRows, nov: valNov }], mm);
    const known = [...yVal.keys()].filter((i) => yVal[i] !== left);
    const unknown = [...yVal.keys()].filter((i) => yVal[i] === left);
    folds.push({ label: labels[left], parts: parts!, known, unknown });
    console.error(`fold ${labels[left]}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  const tableOf = (c: Combo) =>
    locoTable(
      folds.map((f) => {
        const z = zsOf(f.parts, f.known);
        return {
          label: f.label,
          known: f.known.map((i) => c.w(f.parts, i, z)),
          unknown: f.unknown.map((i) => c.w(f.parts, i, z)),
        };
      }),
    );
  const results = combos.map((c) => ({ c, t: tableOf(c) }));
  for (const { c, t } of results)
    console.log(
      JSON.stringify({
        rank,
        score: c.name,
        rejected_2_5_10: t.mean.rejected.map((v) => +(100 * v).toFixed(1)),
        auroc: +t.mean.auroc.toFixed(3),
        per_fold_at_5: t.rows.map((r) => Math.round(100 * r.rejected[1])),
      }),
    );
  // Nested: for each fold, the combination that is best at 5 % on the other nine folds.
  const nested = folds.map((_, f) => {
    const best = results
      .map(({ c, t }) => ({
        c,
        t,
        other: t.rows.filter((__, g) => g !== f).reduce((a, r) => a + r.rejected[1], 0),
      }))
      .sort((a, b) => b.other - a.other)[0]!;
    return { fold: folds[f]!.label, chosen: best.c.name, at5: best.t.rows[f]!.rejected[1] };
  });
  console.log(
    JSON.stringify({
      rank,
      nested_mean_at_5: +((100 * nested.reduce((a, n) => a + n.at5, 0)) / nested.length).toFixed(1),
      chosen: nested.map((n) => n.chosen),
    }),
  );
  if (nonfish.length) {
    const [v, nf] = await fitAndScore(
      () => true,
      [
        { raw: valRows, nov: valNov },
        { raw: nonfish, nov: nonfish.map(openNov) },
      ],
      mm,
    );
    const known = [...valRows.keys()];
    const z = zsOf(v!, known);
    for (const c of combos) {
      const fish = known.map((i) => c.w(v!, i, z));
      const t = quantile(fish, 0.05);
      const rej = nf!.ml.filter((_, i) => c.w(nf!, i, z) < t).length / nonfish.length;
      console.log(
        JSON.stringify({ rank, score: c.name, nonfish_rejected_at_5: +(100 * rej).toFixed(1) }),
      );
    }
  }
} finally {
  await mm.release();
}
