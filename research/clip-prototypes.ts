// Issue 14, lever 3: prototypes per clip rather than per class. A rare class filmed in few clips
// is one blurred average per class; one prototype per training clip keeps each setting apart. The
// shipped features (int8 graph, taps, centre crop), standardised on the training rows; each clip's
// prototype is the unit-length mean of its frames and their mirrors. An image takes the class of
// its nearest prototype by cosine. Against the shipped softmax head and one prototype per class, on
// val and grouped 5-fold CV of train (folds as §17).
// Usage: node bin/run-ts.js research/clip-prototypes.ts   (docs/model-research.md §29)
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { backboneInt8 } from '../src/ml/artifact/manifest.ts';
import { BackbonePool } from '../src/ml/backbone/session.ts';
import { groupOf } from '../src/ml/data/dataset.ts';
import { type Embeddings, embedItems } from '../src/ml/embed/embedder.ts';
import { computeMetrics } from '../src/ml/evaluate/metrics.ts';
import { fitStandardizer, standardize } from '../src/ml/head/standardize.ts';
import { shippedSpecies } from './shipped.ts';
import { leverFigures, valAndCv } from './val-and-cv.ts';

const shipped = await shippedSpecies();
const { manifest, taps, spec, train, val, labels, yOf } = shipped;
const pool = new BackbonePool(resolve('data/store'));
let tr: Embeddings;
let va: Float32Array[];
try {
  const session = await pool.get(manifest.backbone.id, taps, backboneInt8(manifest.backbone));
  const common = { session, spec, taps, flip: true, cacheDir: resolve('data/embed-cache') };
  tr = await embedItems(train.items, common);
  va = (await embedItems(val.items, { ...common, flip: false })).original;
} finally {
  await pool.close();
}
const yTr = yOf(train.items);
const yVal = yOf(val.items);
const clipOf = train.items.map(groupOf);
const fold = clipOf.map(
  (g) => parseInt(createHash('sha1').update(g).digest('hex').slice(0, 8), 16) % 5,
);

const unit = (v: Float32Array): Float32Array => {
  let n = 0;
  for (const x of v) n += x * x;
  const s = 1 / Math.sqrt(n || 1);
  return v.map((x) => x * s);
};
const dot = (a: Float32Array, b: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** Nearest-prototype classifier on training items `idx`, grouped by `key` (clip or class). */
function fitPrototypes(idx: readonly number[], key: (i: number) => string) {
  const st = fitStandardizer([
    ...idx.map((i) => tr.original[i]!),
    ...idx.map((i) => tr.flipped![i]!),
  ]);
  const sums = new Map<string, { sum: Float32Array; label: number }>();
  for (const i of idx)
    for (const row of [tr.original[i]!, tr.flipped![i]!]) {
      const z = standardize(st, row);
      const k = key(i);
      const e = sums.get(k) ?? { sum: new Float32Array(z.length), label: yTr[i]! };
      for (let d = 0; d < z.length; d++) e.sum[d]! += z[d]!;
      sums.set(k, e);
    }
  const protos = [...sums.values()].map((e) => ({ v: unit(e.sum), label: e.label }));
  // Probabilities for the metrics: the best cosine per class, one-hot on the nearest.
  return (row: Float32Array): Float64Array => {
    const z = unit(standardize(st, row));
    const best = new Float64Array(labels.length).fill(-Infinity);
    for (const p of protos) best[p.label] = Math.max(best[p.label]!, dot(z, p.v));
    let top = 0;
    for (let c = 1; c < labels.length; c++) if (best[c]! > best[top]!) top = c;
    return Float64Array.from(best, (_, c) => (c === top ? 1 : 0));
  };
}

function score(name: string, key: (i: number) => string) {
  const all = fitPrototypes([...train.items.keys()], key);
  const v = computeMetrics(yVal, va.map(all), labels);
  const truth: number[] = [];
  const probs: Float64Array[] = [];
  for (let k = 0; k < 5; k++) {
    const predict = fitPrototypes(
      [...train.items.keys()].filter((i) => fold[i] !== k),
      key,
    );
    for (const i of train.items.keys())
      if (fold[i] === k) {
        truth.push(yTr[i]!);
        probs.push(predict(tr.original[i]!));
      }
  }
  const cv = computeMetrics(truth, probs, labels);
  console.log(
    JSON.stringify({
      classifier: name,
      ...leverFigures(v, cv),
    }),
  );
}

console.log(
  JSON.stringify({
    classifier: 'softmax head (shipped recipe)',
    ...(await valAndCv(shipped, {
      trainOriginal: tr.original,
      trainFlipped: tr.flipped!,
      val: va,
    })),
  }),
);
score('nearest class mean', (i) => String(yTr[i]));
score('nearest clip prototype', (i) => clipOf[i]!);
