// Fits the candidate heads on standardised features and picks one on validation:
// softmax regression over an L2 grid (warm-started) and a small MLP; the winner has the best
// validation accuracy + macro-F1 among calibrated candidates (ties: lower calibrated NLL).
import { computeMetrics } from '../evaluate/metrics.ts';
import { fitTemperature, nll } from './calibrate.ts';
import { headLogits, softmax } from '../head/head.ts';
import type { Head } from '../head/head.ts';
import { trainMlp } from './mlp.ts';
import { trainSoftmaxGemm } from './softmax-gemm.ts';
import { trainSoftmax } from './softmax-regression.ts';

export interface HeadCandidate {
  kind: 'softmax' | 'mlp';
  l2: number;
  head: Head;
  val_accuracy: number;
  val_macro_f1: number;
  val_nll: number;
  val_ece: number;
}

export interface FitHeadsOptions {
  l2Grid: number[];
  mlp:
    | {
        hidden: number;
        l2: number;
        lr: number;
        epochs: number;
        patience: number;
        batchSize: number;
      }
    | false;
  seed: number;
  maxIter: number;
  /** Matrix products of the softmax solver: onnxruntime Gemm (default) or plain TypeScript. */
  solver?: 'gemm' | 'js';
  onProgress?: (msg: string) => void;
}

export function classWeights(y: Int32Array, k: number): Float64Array {
  const cnt = new Float64Array(k);
  for (const c of y) cnt[c]++;
  return Float64Array.from(cnt, (c) => (c ? y.length / (k * c) : 0));
}

function assess(
  kind: 'softmax' | 'mlp',
  l2: number,
  head: Head,
  vX: Float32Array[],
  vy: Int32Array,
  labels: string[],
): HeadCandidate {
  const logits = vX.map((x) => headLogits(head, x));
  const T = fitTemperature(logits, vy);
  const m = computeMetrics(
    vy,
    logits.map((l) => softmax(l, T)),
    labels,
  );
  return {
    kind,
    l2,
    head,
    val_accuracy: m.accuracy,
    val_macro_f1: m.macro_f1,
    val_nll: nll(logits, vy, T),
    val_ece: m.ece,
  };
}

export async function fitHeads(
  X: Float32Array,
  y: Int32Array,
  vRows: Float32Array[],
  vy: Int32Array,
  labels: string[],
  o: FitHeadsOptions,
): Promise<{ best: HeadCandidate; candidates: HeadCandidate[] }> {
  const k = labels.length;
  const cw = classWeights(y, k);
  const cands: HeadCandidate[] = [];
  let init: Float64Array | undefined;
  // Strongest regularisation first: each solution warm-starts the next, weaker λ.
  for (const l2 of [...o.l2Grid].sort((a, b) => b - a)) {
    const so = { l2, classWeights: cw, init, maxIter: o.maxIter };
    const head =
      o.solver === 'js' ? trainSoftmax(X, y, k, so) : await trainSoftmaxGemm(X, y, k, so);
    const l = head.layers[0];
    init = new Float64Array(l.weight.length + l.bias.length);
    init.set(l.weight);
    init.set(l.bias, l.weight.length);
    cands.push(assess('softmax', l2, head, vRows, vy, labels));
    o.onProgress?.(`softmax l2=${l2}: val acc ${cands.at(-1)!.val_accuracy.toFixed(3)}`);
  }
  if (o.mlp) {
    const vX = new Float32Array(vRows.length * vRows[0].length);
    vRows.forEach((r, i) => vX.set(r, i * r.length));
    const head = trainMlp(X, y, k, {
      ...o.mlp,
      seed: o.seed,
      classWeights: cw,
      val: { X: vX, y: vy },
    });
    cands.push(assess('mlp', o.mlp.l2, head, vRows, vy, labels));
    o.onProgress?.(
      `mlp: val acc ${cands.at(-1)!.val_accuracy.toFixed(3)} (best epoch ${head.bestEpoch})`,
    );
  }
  // Calibrated candidates (ECE <= 0.05 after temperature scaling) first, then accuracy + macro-F1.
  const key = (c: HeadCandidate): number =>
    c.val_accuracy + c.val_macro_f1 + (c.val_ece <= 0.05 ? 10 : 0);
  const best = cands.reduce((a, b) =>
    key(b) > key(a) + 1e-9 || (Math.abs(key(b) - key(a)) <= 1e-9 && b.val_nll < a.val_nll) ? b : a,
  );
  return { best, candidates: cands };
}
