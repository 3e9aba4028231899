// Classification metrics over (true index, predicted probabilities). A true index of -1 means a
// class the model does not know: it counts as a miss everywhere.

export interface PerClass {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface CoveragePoint {
  threshold: number;
  coverage: number;
  accuracy: number;
}

export interface Metrics {
  n: number;
  accuracy: number;
  macro_f1: number;
  ece: number;
  labels: string[];
  per_class: Record<string, PerClass>;
  /** Rows: true label (an extra last row `(unknown class)` when some are unknown), cols: predicted. */
  confusion_matrix: number[][];
  coverage: CoveragePoint[];
}

export function computeMetrics(
  truth: Int32Array | number[],
  probs: ArrayLike<number>[],
  labels: string[],
  thresholds = [0.5, 0.7, 0.9],
): Metrics {
  const k = labels.length;
  const n = truth.length;
  const pred = probs.map(argmaxOf);
  const conf = probs.map((p, i) => p[pred[i]]);
  const unknownRows = Array.from(truth).some((t) => t < 0);
  const cm = Array.from({ length: k + (unknownRows ? 1 : 0) }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const t = truth[i] < 0 ? k : truth[i];
    cm[t][pred[i]]++;
    if (truth[i] === pred[i]) correct++;
  }
  const per_class: Record<string, PerClass> = {};
  let f1sum = 0;
  let present = 0;
  for (let c = 0; c < k; c++) {
    const tp = cm[c]?.[c] ?? 0;
    const support = cm[c].reduce((a, b) => a + b, 0);
    const predicted = cm.reduce((a, row) => a + row[c], 0);
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    per_class[labels[c]] = { precision, recall, f1, support };
    // Macro-F1 averages over classes present in the evaluation data.
    if (support > 0) {
      f1sum += f1;
      present++;
    }
  }
  const isCorrect = pred.map((p, i) => p === truth[i]);
  return {
    n,
    accuracy: n ? correct / n : 0,
    macro_f1: present ? f1sum / present : 0,
    ece: expectedCalibrationError(conf, isCorrect),
    labels,
    per_class,
    confusion_matrix: cm,
    coverage: thresholds.map((threshold) => {
      const kept = conf.map((c, i) => (c >= threshold ? i : -1)).filter((i) => i >= 0);
      return {
        threshold,
        coverage: n ? kept.length / n : 0,
        accuracy: kept.length ? kept.filter((i) => isCorrect[i]).length / kept.length : 0,
      };
    }),
  };
}

/** ECE with equal-width confidence bins (15 by default). */
export function expectedCalibrationError(conf: number[], correct: boolean[], bins = 15): number {
  const n = conf.length;
  if (!n) return 0;
  const cnt = new Array<number>(bins).fill(0);
  const sumC = new Array<number>(bins).fill(0);
  const sumA = new Array<number>(bins).fill(0);
  for (let i = 0; i < n; i++) {
    const b = Math.min(bins - 1, Math.floor(conf[i] * bins));
    cnt[b]++;
    sumC[b] += conf[i];
    sumA[b] += correct[i] ? 1 : 0;
  }
  let e = 0;
  for (let b = 0; b < bins; b++)
    if (cnt[b]) e += (cnt[b] / n) * Math.abs(sumA[b] / cnt[b] - sumC[b] / cnt[b]);
  return e;
}

/** Area under the ROC curve: P(score of a positive > score of a negative), ties count half. */
export function auroc(positives: number[], negatives: number[]): number {
  if (!positives.length || !negatives.length) return NaN;
  const all = [...positives.map((s) => [s, 1]), ...negatives.map((s) => [s, 0])].sort(
    (a, b) => a[0] - b[0],
  );
  let rankSum = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j][0] === all[i][0]) j++;
    const avgRank = (i + j + 1) / 2;
    for (let t = i; t < j; t++) if (all[t][1] === 1) rankSum += avgRank;
    i = j;
  }
  const np = positives.length;
  return (rankSum - (np * (np + 1)) / 2) / (np * negatives.length);
}

function argmaxOf(p: ArrayLike<number>): number {
  let b = 0;
  for (let j = 1; j < p.length; j++) if (p[j] > p[b]) b = j;
  return b;
}
