// Issues 14 and 16: how much of each side of a crop to keep around its centre
// (`preprocessing.crop`), chosen on val and on grouped 5-fold cross-validation of train (clips as
// groups, folds by a hash of the clip), with the shipped recipe (int8 graph, taps, softmax head
// λ 0.01, originals + mirrors); and what the crop costs when decoding.
// Usage: node bin/run-ts.js research/centre-crop.ts   (docs/model-research.md §17)
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { backboneInt8 } from '../src/ml/artifact/manifest.ts';
import { BackbonePool } from '../src/ml/backbone/session.ts';
import { groupOf } from '../src/ml/data/dataset.ts';
import { embedItems } from '../src/ml/embed/embedder.ts';
import { computeMetrics } from '../src/ml/evaluate/metrics.ts';
import { headLogits, softmax } from '../src/ml/head/head.ts';
import { fitStandardizer, pack, standardize } from '../src/ml/head/standardize.ts';
import { decodeRgb } from '../src/ml/preprocess.ts';
import { classWeights } from '../src/ml/train/fit-heads.ts';
import { trainSoftmaxGemm } from '../src/ml/train/softmax-gemm.ts';
import { shippedSpecies } from './shipped.ts';

const { manifest, taps, spec, train, val, labels, yOf, l2, maxIter } = await shippedSpecies();
const whole = { ...spec, crop: undefined };
const yTr = yOf(train.items);
const yVal = yOf(val.items);
const fold = train.items.map(
  (it) => parseInt(createHash('sha1').update(groupOf(it)).digest('hex').slice(0, 8), 16) % 5,
);

async function fit(rows: Float32Array[], y: Int32Array) {
  const st = fitStandardizer(rows);
  const head = await trainSoftmaxGemm(pack(rows.map((r) => standardize(st, r))), y, labels.length, {
    l2,
    classWeights: classWeights(y, labels.length),
    maxIter,
  });
  return (r: Float32Array) => softmax(headLogits(head, standardize(st, r)));
}

// 1. Decoding cost, whole against cropped, alternating rounds over 200 val images.
const sample = await Promise.all(val.items.slice(0, 200).map((it) => readFile(it.path)));
for (let round = 0; round < 3; round++)
  for (const crop of [undefined, 0.7]) {
    const spec = { ...whole, crop };
    for (const b of sample.slice(0, 20)) await decodeRgb(b, spec);
    const t = performance.now();
    for (const b of sample) await decodeRgb(b, spec);
    const ms = (performance.now() - t) / sample.length;
    console.log(JSON.stringify({ decode: crop ?? 1, round, ms_per_image: +ms.toFixed(3) }));
  }

// 2. Val and grouped CV for each share kept.
const pool = new BackbonePool(resolve('data/store'));
try {
  const session = await pool.get(manifest.backbone.id, taps, backboneInt8(manifest.backbone));
  for (const crop of [1, 0.8, 0.7, 0.6]) {
    const spec = { ...whole, crop: crop < 1 ? crop : undefined };
    const common = { session, spec, taps, flip: true, cacheDir: resolve('data/embed-cache') };
    const tr = await embedItems(train.items, common);
    const va = (await embedItems(val.items, { ...common, flip: false })).original;
    const all = await fit([...tr.original, ...tr.flipped!], Int32Array.from([...yTr, ...yTr]));
    const v = computeMetrics(yVal, va.map(all), labels);
    const truth: number[] = [];
    const probs: Float64Array[] = [];
    for (let k = 0; k < 5; k++) {
      const inTrain = [...train.items.keys()].filter((i) => fold[i] !== k);
      const predict = await fit(
        [...inTrain.map((i) => tr.original[i]!), ...inTrain.map((i) => tr.flipped![i]!)],
        Int32Array.from([...inTrain, ...inTrain].map((i) => yTr[i]!)),
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
        crop,
        val_top1: +v.accuracy.toFixed(3),
        val_macro_f1: +v.macro_f1.toFixed(3),
        val_recall_acanthurus: +v.per_class['acanthurus-nigrofuscus']!.recall.toFixed(3),
        cv_top1: +cv.accuracy.toFixed(3),
        cv_macro_f1: +cv.macro_f1.toFixed(3),
      }),
    );
  }
} finally {
  await pool.close();
}
