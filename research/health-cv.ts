// Issue 14, health: §21 chose among input sizes and poolings on val alone (292 images), where GeM
// pooling of the expansions came out two images ahead of the default, within val's noise. This
// adds grouped 5-fold cross-validation of fish-health/train (the data set's near-duplicate groups,
// from its provenance.csv, never span two folds) for the default and GeM, with the health recipe:
// 224 input, the default taps, flip-TTA, softmax regression with class weights at each λ of the
// grid, temperature fitted on the fold's own predictions for ECE. fp32 graph; nothing is written but
// the embedding cache (the data's licence is unclear).
// Usage: node bin/run-ts.js research/health-cv.ts   (docs/model-research.md §28)
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { BackbonePool } from '../src/ml/backbone/session.ts';
import { listImageFolder } from '../src/ml/data/dataset.ts';
import { embedItems } from '../src/ml/embed/embedder.ts';
import { computeMetrics } from '../src/ml/evaluate/metrics.ts';
import { headLogits, softmax } from '../src/ml/head/head.ts';
import { fitStandardizer, pack, standardize } from '../src/ml/head/standardize.ts';
import { DEFAULT_PREPROCESS } from '../src/ml/preprocess.ts';
import { fitTemperature } from '../src/ml/train/calibrate.ts';
import { DEFAULTS } from '../src/ml/train/defaults.ts';
import { classWeights } from '../src/ml/train/fit-heads.ts';
import { trainSoftmaxGemm } from '../src/ml/train/softmax-gemm.ts';

const root = resolve(process.env.AQUAML_DATASETS_DIR ?? '../shared/data', 'fish-health');
const { backbone, taps: base, hyper } = DEFAULTS.health;
const pooled = (suffix: string) =>
  base.map((t) => (t === 'embedding' || t === 'b16_out' ? t : `${t}:${suffix}`));
const VARIANTS: Record<string, string[]> = { default: base, gem3: pooled('gem3') };

const train = await listImageFolder(join(root, 'train'));
const val = await listImageFolder(join(root, 'val'));
const { labels } = train;
const groupOfFile = new Map<string, string>();
for (const line of (await readFile(join(root, 'provenance.csv'), 'utf8')).split('\n').slice(1)) {
  const cols = line.split(',');
  if (cols.length >= 5) groupOfFile.set(cols[0]!, cols[4]!);
}
const fold = train.items.map((it) => {
  const group = groupOfFile.get(relative(root, it.path)) ?? it.sha256;
  return parseInt(createHash('sha1').update(group).digest('hex').slice(0, 8), 16) % 5;
});
const yOf = (items: typeof train.items) => Int32Array.from(items, (i) => labels.indexOf(i.label));
const yTr = yOf(train.items);
const yVal = yOf(val.items);

const pool = new BackbonePool(resolve('data/store'));
try {
  for (const [name, taps] of Object.entries(VARIANTS)) {
    const session = await pool.get(backbone, taps);
    const spec = { ...DEFAULT_PREPROCESS, ...DEFAULTS.health.preprocess, size: 224 };
    const common = { session, spec, taps, flip: true, cacheDir: resolve('data/embed-cache') };
    const tr = await embedItems(train.items, common);
    const va = await embedItems(val.items, common);
    for (const l2 of hyper.l2Grid) {
      // Trained on originals + mirrors; logits averaged over the image and its mirror (flip-TTA).
      const fit = async (idx: readonly number[]) => {
        const rows = [...idx.map((i) => tr.original[i]!), ...idx.map((i) => tr.flipped![i]!)];
        const y = Int32Array.from([...idx, ...idx].map((i) => yTr[i]!));
        const st = fitStandardizer(rows);
        const head = await trainSoftmaxGemm(
          pack(rows.map((r) => standardize(st, r))),
          y,
          labels.length,
          { l2, classWeights: classWeights(y, labels.length), maxIter: hyper.maxIter },
        );
        return (a: Float32Array, b: Float32Array) => {
          const la = headLogits(head, standardize(st, a));
          const lb = headLogits(head, standardize(st, b));
          return la.map((v, j) => (v + lb[j]!) / 2);
        };
      };
      const scored = (truth: ArrayLike<number>, logits: Float32Array[]) => {
        const T = fitTemperature(logits, truth);
        const m = computeMetrics(
          Array.from(truth),
          logits.map((l) => softmax(l, T)),
          labels,
        );
        return {
          top1: +m.accuracy.toFixed(3),
          macro_f1: +m.macro_f1.toFixed(3),
          ece: +m.ece.toFixed(3),
        };
      };
      const all = await fit([...train.items.keys()]);
      const v = scored(
        yVal,
        val.items.map((_, i) => all(va.original[i]!, va.flipped![i]!)),
      );
      const truth: number[] = [];
      const logits: Float32Array[] = [];
      for (let k = 0; k < 5; k++) {
        const predict = await fit([...train.items.keys()].filter((i) => fold[i] !== k));
        for (const i of train.items.keys())
          if (fold[i] === k) {
            truth.push(yTr[i]!);
            logits.push(predict(tr.original[i]!, tr.flipped![i]!));
          }
      }
      const cv = scored(truth, logits);
      console.log(JSON.stringify({ variant: name, l2, val: v, cv }));
    }
  }
} finally {
  await pool.close();
}
