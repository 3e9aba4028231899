// The scoring shared by the preprocessing levers of issue 14 (§17, §19): the shipped head recipe
// (softmax, λ and iterations from the manifest, class weights) trained on originals + mirrors,
// scored on val and on grouped 5-fold cross-validation of train (clips as groups, folds by a hash
// of the clip).
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { BackboneSession } from '../src/ml/backbone/session.ts';
import { groupOf, type ImageItem } from '../src/ml/data/dataset.ts';
import { concatTaps, embedItems } from '../src/ml/embed/embedder.ts';
import { computeMetrics, type Metrics } from '../src/ml/evaluate/metrics.ts';
import { headLogits, softmax } from '../src/ml/head/head.ts';
import { fitStandardizer, pack, standardize } from '../src/ml/head/standardize.ts';
import { classWeights } from '../src/ml/train/fit-heads.ts';
import { flipHorizontal, type PreprocessSpec, toFloat } from '../src/ml/preprocess.ts';
import { trainSoftmaxGemm } from '../src/ml/train/softmax-gemm.ts';
import type { shippedSpecies } from './shipped.ts';

type Shipped = Awaited<ReturnType<typeof shippedSpecies>>;

/** Features of every train image (and its mirror) and of every val image, in the split's order. */
export interface LeverFeatures {
  trainOriginal: Float32Array[];
  trainFlipped: Float32Array[];
  val: Float32Array[];
  /** Extra training views, each aligned with train's items: used wherever the item trains. */
  extra?: { original: Float32Array[]; flipped: Float32Array[] }[];
}

/** Fold (0-4) of each training item: clips as groups, folds by a hash of the clip. */
export function cvFolds(items: readonly ImageItem[]): number[] {
  return items.map(
    (it) => parseInt(createHash('sha1').update(groupOf(it)).digest('hex').slice(0, 8), 16) % 5,
  );
}

/**
 * The shipped head recipe (standardise, softmax with the manifest's λ, class weights) on `rows`:
 * a row's logits.
 */
export async function fitShippedLogits(s: Shipped, rows: Float32Array[], y: Int32Array) {
  const st = fitStandardizer(rows);
  const head = await trainSoftmaxGemm(
    pack(rows.map((r) => standardize(st, r))),
    y,
    s.labels.length,
    { l2: s.l2, classWeights: classWeights(y, s.labels.length), maxIter: s.maxIter },
  );
  return (r: Float32Array) => headLogits(head, standardize(st, r));
}

/** The same recipe: a row's class probabilities. */
export async function fitShippedHead(s: Shipped, rows: Float32Array[], y: Int32Array) {
  const logits = await fitShippedLogits(s, rows, y);
  return (r: Float32Array) => softmax(logits(r));
}

/**
 * One set of features, or several whose heads are trained apart and whose probabilities are
 * averaged (an ensemble of backbones).
 */
export async function valAndCv(s: Shipped, f: LeverFeatures | readonly LeverFeatures[]) {
  const { train, val, labels, yOf } = s;
  const members: readonly LeverFeatures[] = Array.isArray(f) ? f : [f];
  const yTr = yOf(train.items);
  const fold = cvFolds(train.items);
  const fit = (rows: Float32Array[], y: Int32Array) => fitShippedHead(s, rows, y);
  // Predicts item i of val or train (by `pick`) as the mean of the members' probabilities.
  const fitMembers = async (idx: readonly number[]) => {
    const heads: Awaited<ReturnType<typeof fit>>[] = [];
    for (const m of members) {
      const sets = [{ original: m.trainOriginal, flipped: m.trainFlipped }, ...(m.extra ?? [])];
      const rows = sets.flatMap((t) => [
        ...idx.map((i) => t.original[i]!),
        ...idx.map((i) => t.flipped[i]!),
      ]);
      const y = Int32Array.from(sets.flatMap(() => [...idx, ...idx].map((i) => yTr[i]!)));
      heads.push(await fit(rows, y));
    }
    return (pick: (m: LeverFeatures) => Float32Array) => {
      const p = members.map((m, k) => heads[k]!(pick(m)));
      return Float64Array.from(p[0]!, (_, c) => p.reduce((a, q) => a + q[c]!, 0) / p.length);
    };
  };
  const all = await fitMembers([...train.items.keys()]);
  const v = computeMetrics(
    yOf(val.items),
    val.items.map((_, i) => all((m) => m.val[i]!)),
    labels,
  );
  const truth: number[] = [];
  const probs: Float64Array[] = [];
  for (let k = 0; k < 5; k++) {
    const predict = await fitMembers([...train.items.keys()].filter((i) => fold[i] !== k));
    for (const i of train.items.keys())
      if (fold[i] === k) {
        truth.push(yTr[i]!);
        probs.push(predict((m) => m.trainOriginal[i]!));
      }
  }
  return leverFigures(v, computeMetrics(truth, probs, labels));
}

/** What every species lever script reports: val and grouped-CV top-1 and macro-F1, the weak class's val recall. */
export function leverFigures(v: Metrics, cv: Metrics) {
  return {
    val_top1: +v.accuracy.toFixed(3),
    val_macro_f1: +v.macro_f1.toFixed(3),
    val_recall_acanthurus: +v.per_class['acanthurus-nigrofuscus']!.recall.toFixed(3),
    cv_top1: +cv.accuracy.toFixed(3),
    cv_macro_f1: +cv.macro_f1.toFixed(3),
  };
}

/** Features of size × size RGB images (mirrored if asked) through `session`, 16 at a time. */
export async function embedPixels(
  session: BackboneSession,
  taps: readonly string[],
  size: number,
  rgbs: readonly Uint8Array[],
  flip: boolean,
): Promise<Float32Array[]> {
  const px = size * size * 3;
  const out: Float32Array[] = [];
  for (let i = 0; i < rgbs.length; i += 16) {
    const chunk = rgbs.slice(i, i + 16);
    const batch = new Float32Array(chunk.length * px);
    chunk.forEach((r, j) => {
      const f = toFloat(r);
      batch.set(flip ? flipHorizontal(f, size) : f, j * px);
    });
    const res = await session.run(batch, chunk.length, taps);
    for (let j = 0; j < chunk.length; j++) out.push(concatTaps(res, taps, chunk.length, j));
  }
  return out;
}

/** Embeds train (with mirrors) and val through `session` with `spec` (cached), then scores them. */
export async function embedAndScore(s: Shipped, session: BackboneSession, spec: PreprocessSpec) {
  const common = { session, spec, taps: s.taps, flip: true, cacheDir: resolve('data/embed-cache') };
  const tr = await embedItems(s.train.items, common);
  const va = (await embedItems(s.val.items, { ...common, flip: false })).original;
  return valAndCv(s, { trainOriginal: tr.original, trainFlipped: tr.flipped!, val: va });
}
