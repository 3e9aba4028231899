// Issue 14, health: §21 chose among input sizes and poolings on val alone (292 images), where GeM
// pooling of the expansions came out two images ahead of the default, within val's noise. This
// adds grouped 5-fold cross-validation of fish-health/train (the data set's near-duplicate groups,
// from its provenance.csv, never span two folds) for the default and GeM, with the health recipe:
// 224 input, the default taps, flip-TTA, softmax regression with class weights at each λ of the
// grid, temperature fitted on the fold's own predictions for ECE. fp32 graph; nothing is written but
// the embedding cache (the data's licence is unclear).
// Usage: node bin/run-ts.js research/health-cv.ts   (docs/model-research.md §28)
import { join, resolve } from 'node:path';
import { BackbonePool } from '../src/ml/backbone/session.ts';
import { listImageFolder } from '../src/ml/data/dataset.ts';
import { embedItems } from '../src/ml/embed/embedder.ts';
import { DEFAULT_PREPROCESS } from '../src/ml/preprocess.ts';
import { DEFAULTS } from '../src/ml/train/defaults.ts';
import { fitHealthHead, HEALTH_ROOT, healthFolds, scoreHealth } from './health-lib.ts';

const root = HEALTH_ROOT;
const { backbone, taps: base, hyper } = DEFAULTS.health;
const pooled = (suffix: string) =>
  base.map((t) => (t === 'embedding' || t === 'b16_out' ? t : `${t}:${suffix}`));
const VARIANTS: Record<string, string[]> = { default: base, gem3: pooled('gem3') };

const train = await listImageFolder(join(root, 'train'));
const val = await listImageFolder(join(root, 'val'));
const { labels } = train;
const fold = await healthFolds(train.items);
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
      const fit = (idx: readonly number[]) =>
        fitHealthHead(
          [...idx.map((i) => tr.original[i]!), ...idx.map((i) => tr.flipped![i]!)],
          Int32Array.from([...idx, ...idx].map((i) => yTr[i]!)),
          labels.length,
          l2,
        );
      const scored = (truth: ArrayLike<number>, logits: Float32Array[]) =>
        scoreHealth(truth, logits, labels);
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
