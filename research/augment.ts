// Issues 14 and 16, augmentation lever: does training the shipped recipe on augmented views of
// the training crops (random resized crop, colour and blur jitter; each view also mirrored) beat
// originals + mirrors, on val (closed set, 10 classes) and on leave-one-class-out (unknown
// species, the shipped novelty method)? Views are written as PNG files under tmp/augment and
// embedded through the shipped model's own (int8) graph with the embedding cache, so a rerun only
// retrains. Usage: node bin/run-ts.js research/augment.ts [views=3] [--no-loco] [--strong-colour]
// (AQUAML_RESEARCH_MODEL: another model directory; research/shipped.ts)
// (--strong-colour: hue ±45°, saturation 0.4-1.4, brightness 0.7-1.3 and one view in five grey,
// against the background colour a clip's water gives every fish in it)
// Prints JSON lines; the table is in docs/model-research.md §16.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { backboneInt8, noveltySettings } from '../src/ml/artifact/manifest.ts';
import { BackbonePool } from '../src/ml/backbone/session.ts';
import { type ImageItem } from '../src/ml/data/dataset.ts';
import { embedItems } from '../src/ml/embed/embedder.ts';
import { locoNoveltyFolds, locoTable } from '../src/ml/evaluate/leave-one-class-out.ts';
import { computeMetrics } from '../src/ml/evaluate/metrics.ts';
import { MatMulABt } from '../src/ml/gemm.ts';
import { headLogits, softmax } from '../src/ml/head/head.ts';
import { fitStandardizer, pack, standardize } from '../src/ml/head/standardize.ts';
import { openSetFeatures } from '../src/ml/openset.ts';
import { rng } from '../src/ml/rng.ts';
import { classWeights } from '../src/ml/train/fit-heads.ts';
import { trainSoftmaxGemm } from '../src/ml/train/softmax-gemm.ts';
import { shippedSpecies } from './shipped.ts';

const views = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 3);
const loco = !process.argv.includes('--no-loco');
const strong = process.argv.includes('--strong-colour');
const OUT = resolve(strong ? 'tmp/augment-strong' : 'tmp/augment');

/** One seeded augmented view of an image: random resized crop, colour jitter, sometimes blur. */
async function augmentedView(src: Buffer, seed: number): Promise<Buffer> {
  const r = rng(seed);
  const u = (a: number, b: number) => a + (b - a) * r();
  const img = sharp(src);
  const { width = 1, height = 1 } = await img.metadata();
  const area = u(0.7, 1);
  const aspect = u(0.8, 1.25);
  const w = Math.max(8, Math.min(width, Math.round(width * Math.sqrt(area * aspect))));
  const h = Math.max(8, Math.min(height, Math.round(height * Math.sqrt(area / aspect))));
  const left = Math.floor(u(0, width - w + 1));
  const top = Math.floor(u(0, height - h + 1));
  let out = sharp(src)
    .extract({
      left: Math.min(left, width - w),
      top: Math.min(top, height - h),
      width: w,
      height: h,
    })
    .modulate(
      strong
        ? { brightness: u(0.7, 1.3), saturation: u(0.4, 1.4), hue: Math.round(u(-45, 45)) }
        : { brightness: u(0.8, 1.2), saturation: u(0.75, 1.25), hue: Math.round(u(-8, 8)) },
    );
  if (r() < 0.3) out = out.blur(u(0.6, 1.5));
  if (strong && r() < 0.2) out = out.greyscale().toColourspace('srgb');
  return out.png().toBuffer();
}

async function augmentItems(items: readonly ImageItem[], view: number): Promise<ImageItem[]> {
  const dir = join(OUT, `view${view}`);
  await mkdir(dir, { recursive: true });
  return Promise.all(
    items.map(async (it, i) => {
      const path = join(dir, `${it.sha256}.png`);
      if (!existsSync(path)) {
        const seed = view * 1_000_003 + i;
        await writeFile(path, await augmentedView(await readFile(it.path), seed));
      }
      const sha256 = createHash('sha256')
        .update(await readFile(path))
        .digest('hex');
      return { path, label: it.label, sha256 };
    }),
  );
}

const { manifest, taps, bspec, spec, train, val, labels, yOf, l2, maxIter } =
  await shippedSpecies();
const t0 = performance.now();
const pool = new BackbonePool(resolve('data/store'));
const rowsByView: Float32Array[][] = [];
let valRows: Float32Array[];
try {
  const session = await pool.get(manifest.backbone.id, taps, backboneInt8(manifest.backbone));
  const common = { session, spec, taps, flip: true, cacheDir: resolve('data/embed-cache') };
  const tr = await embedItems(train.items, common);
  rowsByView.push([...tr.original, ...tr.flipped!]);
  valRows = (await embedItems(val.items, common)).original;
  for (let v = 0; v < views; v++) {
    const e = await embedItems(await augmentItems(train.items, v), common);
    rowsByView.push([...e.original, ...e.flipped!]);
  }
} finally {
  await pool.close();
}
console.log(JSON.stringify({ step: 'embedded', views, seconds: (performance.now() - t0) / 1000 }));

const yTr = yOf(train.items);
const yVal = yOf(val.items);
const nv = manifest.novelty!;
const mm = await MatMulABt.create();
try {
  for (const [name, used] of [
    ['originals+mirrors', 1],
    [`+${views} augmented views (each mirrored)`, views + 1],
  ] as const) {
    const rows = rowsByView.slice(0, used).flat();
    const y = Int32Array.from(Array.from({ length: used * 2 }, () => [...yTr]).flat());
    const t1 = performance.now();
    const st = fitStandardizer(rows);
    const head = await trainSoftmaxGemm(
      pack(rows.map((r) => standardize(st, r))),
      y,
      labels.length,
      {
        l2,
        classWeights: classWeights(y, labels.length),
        maxIter,
      },
    );
    const probs = valRows.map((r) => softmax(headLogits(head, standardize(st, r))));
    const m = computeMetrics(yVal, probs, labels);
    const recalls = Object.fromEntries(
      Object.entries(m.per_class).map(([k, c]) => [k, Math.round(c.recall * 1000) / 1000]),
    );
    console.log(
      JSON.stringify({
        train: name,
        rows: rows.length,
        val_top1: m.accuracy,
        val_macro_f1: m.macro_f1,
        min_recall: Math.min(...Object.values(recalls)),
        recalls,
        head_seconds: (performance.now() - t1) / 1000,
      }),
    );
    if (!loco || used === 1) continue;
    const folds = await locoNoveltyFolds(
      {
        labels,
        trainRaw: rows,
        trainY: y,
        valRaw: valRows,
        valY: yVal,
        openSet: (r) => openSetFeatures(r, taps, bspec.width, manifest.open_set.feature_space),
        settings: noveltySettings(nv),
        l2,
        maxIter,
      },
      mm,
    );
    const t = locoTable(folds);
    console.log(
      JSON.stringify({
        train: name,
        loco_rejected_at_2_5_10: t.mean.rejected,
        loco_auroc: t.mean.auroc,
        per_fold_at_5: t.rows.map((r) => Math.round(r.rejected[1] * 100)),
      }),
    );
  }
} finally {
  await mm.release();
}
