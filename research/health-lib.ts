// What the health research scripts share: grouped folds of fish-health/train and the health head
// recipe (softmax with class weights, trained on originals + mirrors, logits averaged over an image
// and its mirror, temperature fitted on the scored predictions for ECE).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { ImageItem } from '../src/ml/data/dataset.ts';
import { computeMetrics } from '../src/ml/evaluate/metrics.ts';
import { headLogits, softmax } from '../src/ml/head/head.ts';
import { fitStandardizer, pack, standardize } from '../src/ml/head/standardize.ts';
import { fitTemperature } from '../src/ml/train/calibrate.ts';
import { DEFAULTS } from '../src/ml/train/defaults.ts';
import { classWeights } from '../src/ml/train/fit-heads.ts';
import { trainSoftmaxGemm } from '../src/ml/train/softmax-gemm.ts';

export const HEALTH_ROOT = resolve(
  process.env.AQUAML_DATASETS_DIR ?? '../shared/data',
  'fish-health',
);

/**
 * Fold (0-4) of each item of fish-health/train: near-duplicate groups from the data set's
 * provenance.csv (column 5) never span two folds; an image without a group is its own.
 */
export async function healthFolds(items: readonly ImageItem[]): Promise<number[]> {
  const groupOfFile = new Map<string, string>();
  const csv = await readFile(join(HEALTH_ROOT, 'provenance.csv'), 'utf8');
  for (const line of csv.split('\n').slice(1)) {
    const cols = line.split(',');
    if (cols.length >= 5) groupOfFile.set(cols[0]!, cols[4]!);
  }
  return items.map((it) => {
    const group = groupOfFile.get(relative(HEALTH_ROOT, it.path)) ?? it.sha256;
    return parseInt(createHash('sha1').update(group).digest('hex').slice(0, 8), 16) % 5;
  });
}

/** The head on `rows` (originals then mirrors, labels `y`); predicts logits from an image and its mirror. */
export async function fitHealthHead(rows: Float32Array[], y: Int32Array, k: number, l2: number) {
  const st = fitStandardizer(rows);
  const head = await trainSoftmaxGemm(pack(rows.map((r) => standardize(st, r))), y, k, {
    l2,
    classWeights: classWeights(y, k),
    maxIter: DEFAULTS.health.hyper.maxIter,
  });
  return (a: Float32Array, b: Float32Array) => {
    const la = headLogits(head, standardize(st, a));
    const lb = headLogits(head, standardize(st, b));
    return la.map((v, j) => (v + lb[j]!) / 2);
  };
}

/** Top-1, macro-F1 and ECE (after temperature scaling fitted on these logits). */
export function scoreHealth(truth: ArrayLike<number>, logits: Float32Array[], labels: string[]) {
  const T = fitTemperature(logits, truth);
  const m = computeMetrics(
    Array.from(truth),
    logits.map((l) => softmax(l, T)),
    labels,
  );
  return { top1: +m.accuracy.toFixed(3), macro_f1: +m.macro_f1.toFixed(3), ece: +m.ece.toFixed(3) };
}
