// Issue 16: which novelty score tells "a fish, but not one I know" from known species?
// Leave-one-class-out on fish-species (train on 9 classes' train images, score the 10th class's
// val images as unknown and the 9 classes' val images as known; the splits are grouped by clip),
// for every candidate score, plus each score's non-fish separation with all 10 classes.
// Usage: node bin/run-ts.js research/loco.ts [out.jsonl] [--heads] [--only name,name]
//   --heads       also trains the softmax head per fold (40-120 s each) for max-logit / energy
//                 scores and their combinations with feature distances; logits cached in tmp/loco-heads.
//   --heads-only  only the fold heads (run alongside a feature-score run to fill the cache).
//   --only a,b    only the scores whose names contain one of these.
// Every score's per-fold values are cached in tmp/loco-scores, so runs can be split across
// processes and a last run assembles the tables.
// Reads the shipped model's backbone and taps; embeddings come from data/embed-cache (the cache
// scripts/train-species.ts fills), so a second run re-embeds nothing.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile, appendFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BackbonePool } from '../src/ml/backbone/session.ts';
import { parseBackboneId } from '../src/ml/backbone/specs.ts';
import { groupOf, listImageFolder, sha256File } from '../src/ml/data/dataset.ts';
import { embedItems } from '../src/ml/embed/embedder.ts';
import { listImagesRecursive } from '../src/ml/evaluate/evaluate-model.ts';
import { auroc } from '../src/ml/evaluate/metrics.ts';
import {
  formatLocoTable,
  locoTable,
  type LocoFold,
} from '../src/ml/evaluate/leave-one-class-out.ts';
import { MatMulABt } from '../src/ml/gemm.ts';
import { headLogits } from '../src/ml/head/head.ts';
import { fitStandardizer, pack, standardize } from '../src/ml/head/standardize.ts';
import { fitGaussianNovelty, gaussianScores, noveltyFeatures } from '../src/ml/novelty.ts';
import {
  fitPrototypes,
  l2normalize,
  oodScore,
  openSetFeatures,
  openSetSpace,
  quantile,
} from '../src/ml/openset.ts';
import { DEFAULT_PREPROCESS } from '../src/ml/preprocess.ts';
import { DEFAULTS } from '../src/ml/train/defaults.ts';
import { classWeights } from '../src/ml/train/fit-heads.ts';
import { trainSoftmaxGemm } from '../src/ml/train/softmax-gemm.ts';

const args = process.argv.slice(2);
const flag = (f: string): boolean =>
  args.includes(f) ? (args.splice(args.indexOf(f), 1), true) : false;
const opt = (f: string): string | undefined => {
  const i = args.indexOf(f);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const withHeads = flag('--heads');
// Score only (fill the per-fold caches, e.g. from parallel processes), or assemble from caches.
const headsOnly = flag('--heads-only');
const only = opt('--only')?.split(',');
const out = resolve(args[0] ?? 'tmp/loco.jsonl');
const DATA = resolve(process.env.AQUAML_DATASETS_DIR ?? '../shared/data', 'fish-species');
const manifest = JSON.parse(await readFile('models/species/1/manifest.json', 'utf8'));
const backbone: string = manifest.backbone.id;
const taps: string[] = manifest.backbone.taps;
const bspec = parseBackboneId(backbone);
const spec = { ...DEFAULT_PREPROCESS, ...DEFAULTS.species.preprocess, size: bspec.inputSize };

const train = await listImageFolder(join(DATA, 'train'));
const val = await listImageFolder(join(DATA, 'val'));
const labels = train.labels;
const nfPaths = existsSync('data/nonfish/.complete')
  ? await listImagesRecursive('data/nonfish')
  : [];
const nfItems = await Promise.all(
  nfPaths.map(async (path) => ({ path, label: '', sha256: await sha256File(path) })),
);
const pool = new BackbonePool(resolve('data/store'));
const session = await pool.get(backbone, taps);
const common = { session, spec, taps, cacheDir: resolve('data/embed-cache') };
const tr = await embedItems(train.items, { ...common, flip: true });
const va = await embedItems(val.items, { ...common, flip: true });
const nf = await embedItems(nfItems, { ...common, flip: false });
await pool.close();
console.error(
  `embedded: train ${tr.cached} cached/${tr.computed} new, val ${va.cached}/${va.computed}, non-fish ${nf.cached}/${nf.computed}`,
);

const space = openSetSpace(taps);
const osf = (r: Float32Array): Float32Array => openSetFeatures(r, taps, bspec.width, space);
const yTr = Int32Array.from(train.items.map((i) => labels.indexOf(i.label)));
const yVa = Int32Array.from(val.items.map((i) => labels.indexOf(i.label)));
const gTr = train.items.map(groupOf);
// Training rows: originals then mirrors (as trainModel trains on both).
const trRaw = [...tr.original, ...tr.flipped!];
const trOs = trRaw.map(osf);
const trY = Int32Array.from([...yTr, ...yTr]);
const trG = [...gTr, ...gTr];
const vaOs = va.original.map(osf);
const nfOs = nf.original.map(osf);
const mm = await MatMulABt.create();

/** Given the training rows (indices into trOs) and their labels 0..k-1: scores of val + non-fish. */
type Scorer = (
  idx: number[],
  y: Int32Array,
  k: number,
  fold: number,
) => Promise<{ val: number[]; nonfish: number[] }>;

const maxSim = async (ref: Float32Array[], q: Float32Array[], kth = 1): Promise<number[]> => {
  const d = ref[0].length;
  const s = await mm.run(
    pack(q.map(l2normalize)),
    q.length,
    pack(ref.map(l2normalize)),
    ref.length,
  );
  return q
    .map((_, i) => {
      const row = Array.from(s.subarray(i * ref.length, (i + 1) * ref.length));
      if (kth === 1) return Math.max(...row);
      row.sort((a, b) => b - a);
      return row[kth - 1];
    })
    .map((v) => v + 0 * d);
};

const scorers: Record<string, Scorer> = {
  'max-cosine 16 prototypes/class (shipped)': async (idx, y, k) => {
    const p = fitPrototypes(
      idx.map((i) => trOs[i]),
      y,
      k,
      16,
      42,
    );
    return { val: vaOs.map((x) => oodScore(p, x)), nonfish: nfOs.map((x) => oodScore(p, x)) };
  },
  'max-cosine prototype per clip': async (idx) => {
    const byClip = new Map<string, Float32Array>();
    for (const i of idx) {
      const v = l2normalize(trOs[i]);
      const acc = byClip.get(trG[i]) ?? new Float32Array(v.length);
      for (let j = 0; j < v.length; j++) acc[j] += v[j];
      byClip.set(trG[i], acc);
    }
    const ref = [...byClip.values()];
    return { val: await maxSim(ref, vaOs), nonfish: await maxSim(ref, nfOs) };
  },
  'kNN cosine, k=1': async (idx) => {
    const ref = idx.map((i) => trOs[i]);
    return { val: await maxSim(ref, vaOs), nonfish: await maxSim(ref, nfOs) };
  },
  'kNN cosine, k=10': async (idx) => {
    const ref = idx.map((i) => trOs[i]);
    return { val: await maxSim(ref, vaOs, 10), nonfish: await maxSim(ref, nfOs, 10) };
  },
};
// 0.03 and 0.7 were also run (docs/model-research.md §13: stopped early on the shared machine,
// partial folds); pass LOCO_SHRINKAGE=0.03,0.3 to compute them again.
const SHRINKAGES = (process.env.LOCO_SHRINKAGE ?? '0.3').split(',').map(Number);
for (const alpha of SHRINKAGES) {
  scorers[`Mahalanobis, shrinkage ${alpha}`] = async (idx, y, k) => {
    const g = await fitGaussianNovelty(
      idx.map((i) => noveltyFeatures(trOs[i])),
      y,
      k,
      { shrinkage: alpha, relative: true },
      mm,
    );
    const v = vaOs.map(noveltyFeatures);
    const n = nfOs.map(noveltyFeatures);
    const res = { val: await gaussianScores(g, v, mm), nonfish: await gaussianScores(g, n, mm) };
    extra[`relative Mahalanobis, shrinkage ${alpha}`] = {
      val: await gaussianScores(g, v, mm, true),
      nonfish: await gaussianScores(g, n, mm, true),
    };
    return res;
  };
}
let extra: Record<string, { val: number[]; nonfish: number[] }> = {};

const scorePath = (name: string, fold: number): string =>
  resolve('tmp/loco-scores', `${name.replace(/[^a-z0-9]+/gi, '-')}-${fold}.json`);
async function readScores(
  name: string,
  fold: number,
): Promise<{ val: number[]; nonfish: number[] } | undefined> {
  const p = scorePath(name, fold);
  return existsSync(p) ? JSON.parse(await readFile(p, 'utf8')) : undefined;
}
async function writeScores(
  name: string,
  fold: number,
  r: { val: number[]; nonfish: number[] },
): Promise<void> {
  await mkdir(resolve('tmp/loco-scores'), { recursive: true });
  await writeFile(scorePath(name, fold), JSON.stringify(r));
}

/** Softmax head of one fold on standardised full features; logits of val and non-fish (cached). */
async function foldLogits(
  idx: number[],
  y: Int32Array,
  k: number,
  fold: number,
): Promise<{ val: Float32Array[]; nonfish: Float32Array[] }> {
  const path = resolve('tmp/loco-heads', `fold-${fold}.json`);
  if (existsSync(path)) {
    const j = JSON.parse(await readFile(path, 'utf8')) as { val: number[][]; nonfish: number[][] };
    return {
      val: j.val.map((r) => Float32Array.from(r)),
      nonfish: j.nonfish.map((r) => Float32Array.from(r)),
    };
  }
  const rows = idx.map((i) => trRaw[i]);
  const st = fitStandardizer(rows);
  const X = pack(rows.map((r) => standardize(st, r)));
  const head = await trainSoftmaxGemm(X, y, k, {
    l2: 0.01,
    classWeights: classWeights(y, k),
    maxIter: 60,
  });
  const res = {
    val: va.original.map((r) => headLogits(head, standardize(st, r))),
    nonfish: nf.original.map((r) => headLogits(head, standardize(st, r))),
  };
  await mkdir(resolve('tmp/loco-heads'), { recursive: true });
  await writeFile(
    path,
    JSON.stringify({
      val: res.val.map((r) => Array.from(r)),
      nonfish: res.nonfish.map((r) => Array.from(r)),
    }),
  );
  return res;
}
const maxLogit = (l: Float32Array): number => Math.max(...l);
const energy = (l: Float32Array): number => {
  const m = Math.max(...l);
  return m + Math.log(l.reduce((a, v) => a + Math.exp(v - m), 0));
};

// results[score][fold] = {val, nonfish} scores; folds 0..9 leave class f out, fold 10 = all classes.
const results: Record<string, { val: number[]; nonfish: number[] }[]> = {};
for (let fold = 0; fold <= labels.length; fold++) {
  const left = fold < labels.length ? fold : -1;
  const idx = [...trY.keys()].filter((i) => trY[i] !== left);
  const remap = (c: number): number => (left >= 0 && c > left ? c - 1 : c);
  const y = Int32Array.from(idx.map((i) => remap(trY[i])));
  const k = left >= 0 ? labels.length - 1 : labels.length;
  extra = {};
  for (const [name, s] of Object.entries(scorers)) {
    if (headsOnly || (only && !only.some((o) => name.includes(o)))) continue;
    const cached = await readScores(name, fold);
    if (cached) {
      (results[name] ??= [])[fold] = cached;
      continue;
    }
    const t0 = performance.now();
    (results[name] ??= [])[fold] = await s(idx, y, k, fold);
    await writeScores(name, fold, results[name][fold]);
    console.error(`fold ${fold} ${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (const [en, r] of Object.entries(extra)) await writeScores(en, fold, r);
  }
  for (const name of Object.keys(scorers)) {
    if (!name.startsWith('Mahalanobis')) continue;
    const rel = `relative ${name}`;
    const r = extra[rel] ?? (await readScores(rel, fold));
    if (r) (results[rel] ??= [])[fold] = r;
  }
  if (withHeads || headsOnly) {
    const t0 = performance.now();
    const lg = await foldLogits(idx, y, k, fold);
    console.error(`fold ${fold} head: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    (results['max-logit'] ??= [])[fold] = {
      val: lg.val.map(maxLogit),
      nonfish: lg.nonfish.map(maxLogit),
    };
    (results['energy'] ??= [])[fold] = { val: lg.val.map(energy), nonfish: lg.nonfish.map(energy) };
  }
}

// Combinations: each score standardised by the known-fish val scores of its fold (median and
// spread: the only data a deployed model has), then summed (equal weights), or weighted by a
// logistic regression fitted on the other folds' known vs unknown (nested, so no fold sees its
// own unknown class).
function znorm(known: number[], xs: number[]): number[] {
  const s = [...known].sort((a, b) => a - b);
  const med = s[Math.floor(s.length / 2)];
  const iqr = s[Math.floor(0.75 * s.length)] - s[Math.floor(0.25 * s.length)] || 1;
  return xs.map((x) => (x - med) / iqr);
}
const knownMask = (fold: number): boolean[] => Array.from(yVa, (c) => c !== fold);
function normalised(name: string, fold: number): { val: number[]; nonfish: number[] } {
  const r = results[name][fold];
  const m = knownMask(fold);
  const known = r.val.filter((_, i) => m[i]);
  return { val: znorm(known, r.val), nonfish: znorm(known, r.nonfish) };
}
function addSum(name: string, parts: string[]): void {
  if (!parts.every((p) => results[p])) return;
  results[name] = Array.from({ length: labels.length + 1 }, (_, f) => {
    const ns = parts.map((p) => normalised(p, f));
    return {
      val: ns[0].val.map((_, i) => ns.reduce((a, n) => a + n.val[i], 0)),
      nonfish: ns[0].nonfish.map((_, i) => ns.reduce((a, n) => a + n.nonfish[i], 0)),
    };
  });
}
function logisticWeights(xs: number[][], ys: number[], l2 = 1e-2, iters = 500): number[] {
  const d = xs[0].length;
  const w = new Array<number>(d + 1).fill(0);
  const pos = ys.filter((v) => v === 1).length;
  const wp = ys.length / (2 * pos);
  const wn = ys.length / (2 * (ys.length - pos));
  for (let it = 0; it < iters; it++) {
    const g = new Array<number>(d + 1).fill(0);
    xs.forEach((x, i) => {
      const z = w[d] + x.reduce((a, v, j) => a + v * w[j], 0);
      const p = 1 / (1 + Math.exp(-z));
      const e = (p - ys[i]) * (ys[i] ? wp : wn);
      x.forEach((v, j) => (g[j] += e * v));
      g[d] += e;
    });
    for (let j = 0; j <= d; j++) w[j] -= 0.5 * (g[j] / xs.length + (j < d ? l2 * w[j] : 0));
  }
  return w;
}
function addLogistic(name: string, parts: string[]): void {
  if (!parts.every((p) => results[p])) return;
  const nFolds = labels.length;
  const feats = (f: number): { val: number[][]; nonfish: number[][] } => {
    const ns = parts.map((p) => normalised(p, f));
    return {
      val: ns[0].val.map((_, i) => ns.map((n) => n.val[i])),
      nonfish: ns[0].nonfish.map((_, i) => ns.map((n) => n.nonfish[i])),
    };
  };
  const all = Array.from({ length: nFolds }, (_, f) => feats(f));
  const weightsWithout = (skip: number): number[] => {
    const xs: number[][] = [];
    const ys: number[] = [];
    for (let f = 0; f < nFolds; f++) {
      if (f === skip) continue;
      all[f].val.forEach((x, i) => {
        xs.push(x);
        ys.push(yVa[i] === f ? 0 : 1);
      });
    }
    return logisticWeights(xs, ys);
  };
  const apply = (w: number[], x: number[]): number => x.reduce((a, v, j) => a + v * w[j], 0);
  results[name] = Array.from({ length: nFolds + 1 }, (_, f) => {
    const w = weightsWithout(f);
    const fx = f < nFolds ? all[f] : feats(f);
    if (f === nFolds)
      console.error(`${name}: weights on all folds ${w.map((v) => v.toFixed(3)).join(', ')}`);
    return { val: fx.val.map((x) => apply(w, x)), nonfish: fx.nonfish.map((x) => apply(w, x)) };
  });
}
const maha = 'Mahalanobis, shrinkage 0.3';
const rel = 'relative Mahalanobis, shrinkage 0.3';
addSum('z(Mahalanobis) + z(max-logit)', [maha, 'max-logit']);
addSum('z(relative Mahalanobis) + z(max-logit)', [rel, 'max-logit']);
addSum('z(relative Mahalanobis) + z(energy)', [rel, 'energy']);
addSum('z(relative Mahalanobis 0.7) + z(max-logit)', [
  'relative Mahalanobis, shrinkage 0.7',
  'max-logit',
]);
addSum('z(kNN k=10) + z(max-logit)', ['kNN cosine, k=10', 'max-logit']);
addLogistic('logistic(Mahalanobis, relative Mahalanobis, kNN, max-logit, energy)', [
  maha,
  rel,
  'kNN cosine, k=10',
  'max-logit',
  'energy',
]);
addLogistic('logistic(relative Mahalanobis, max-logit)', [rel, 'max-logit']);

if (headsOnly || only) {
  await mm.release();
  process.exit(0);
}
await mkdir(resolve(out, '..'), { recursive: true });
const summary: string[] = [];
for (const [name, folds] of Object.entries(results)) {
  const lf: LocoFold[] = labels.map((l, f) => ({
    label: l,
    known: folds[f].val.filter((_, i) => yVa[i] !== f),
    unknown: folds[f].val.filter((_, i) => yVa[i] === f),
  }));
  const t = locoTable(lf);
  const full = folds[labels.length];
  const t5 = quantile(full.val, 0.05);
  const nonfish = {
    auroc: auroc(full.val, full.nonfish),
    rejected_at_5: full.nonfish.filter((s) => s < t5).length / full.nonfish.length,
  };
  await appendFile(
    out,
    `${JSON.stringify({ score: name, loco: t, nonfish, at: new Date().toISOString() })}\n`,
  );
  console.log(
    `\n${formatLocoTable(t, `### ${name}`)}\n\nnon-fish (all 10 classes): AUROC ${nonfish.auroc.toFixed(3)}, rejected at 5 % fish val rejected ${(100 * nonfish.rejected_at_5).toFixed(1)} %`,
  );
  summary.push(
    `| ${name} | ${t.mean.rejected.map((v) => `${(100 * v).toFixed(1)} %`).join(' | ')} | ${t.mean.auroc.toFixed(3)} | ${nonfish.auroc.toFixed(3)} | ${(100 * nonfish.rejected_at_5).toFixed(1)} % |`,
  );
}
console.log(
  '\n| score | LOCO rejected @ 2 % known | @ 5 % | @ 10 % | LOCO AUROC | non-fish AUROC | non-fish rejected @ 5 % |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
console.log(summary.join('\n'));
await mm.release();
