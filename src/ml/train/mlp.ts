// One-hidden-layer MLP (ReLU) trained with Adam on mini-batches, class-weighted cross-entropy,
// L2 weight decay, early stopping on validation loss (best epoch restored). Seeded: the same
// data and seed give the same weights.
import type { Head } from '../head/head.ts';
import { gaussian, rng, shuffleInPlace } from '../rng.ts';

export interface MlpOptions {
  hidden: number;
  l2: number;
  lr: number;
  epochs: number;
  patience: number;
  batchSize: number;
  seed: number;
  classWeights: Float64Array;
  val: { X: Float32Array; y: Int32Array };
}

export function trainMlp(
  X: Float32Array,
  y: Int32Array,
  k: number,
  o: MlpOptions,
): Head & { bestEpoch: number } {
  const n = y.length;
  const d = X.length / n;
  const h = o.hidden;
  const rand = rng(o.seed);
  // Parameters: W1 [h × d], b1 [h], W2 [k × h], b2 [k] in one buffer for Adam.
  const P = h * d + h + k * h + k;
  const th = new Float64Array(P);
  const oB1 = h * d;
  const oW2 = oB1 + h;
  const oB2 = oW2 + k * h;
  for (let i = 0; i < h * d; i++) th[i] = gaussian(rand) * Math.sqrt(2 / d);
  for (let i = 0; i < k * h; i++) th[oW2 + i] = gaussian(rand) * Math.sqrt(1 / h);
  const m1 = new Float64Array(P);
  const m2 = new Float64Array(P);
  const g = new Float64Array(P);
  const hid = new Float64Array(h);
  const dh = new Float64Array(h);
  const z = new Float64Array(k);
  let t = 0;

  const forward = (Xs: Float32Array, i: number): void => {
    const xo = i * d;
    for (let j = 0; j < h; j++) {
      let s = th[oB1 + j];
      const wo = j * d;
      for (let p = 0; p < d; p++) s += th[wo + p] * Xs[xo + p];
      hid[j] = s > 0 ? s : 0;
    }
    let m = -Infinity;
    for (let c = 0; c < k; c++) {
      let s = th[oB2 + c];
      const wo = oW2 + c * h;
      for (let j = 0; j < h; j++) s += th[wo + j] * hid[j];
      z[c] = s;
      if (s > m) m = s;
    }
    let sum = 0;
    for (let c = 0; c < k; c++) sum += z[c] = Math.exp(z[c] - m);
    for (let c = 0; c < k; c++) z[c] /= sum;
  };

  const valLoss = (): number => {
    let s = 0;
    let wsum = 0;
    for (let i = 0; i < o.val.y.length; i++) {
      forward(o.val.X, i);
      const w = o.classWeights[o.val.y[i]];
      s -= w * Math.log(Math.max(z[o.val.y[i]], 1e-12));
      wsum += w;
    }
    return s / wsum;
  };

  const order = Array.from({ length: n }, (_, i) => i);
  let best = Infinity;
  let bestTh = Float64Array.from(th);
  let bestEpoch = 0;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    shuffleInPlace(order, rand);
    for (let b0 = 0; b0 < n; b0 += o.batchSize) {
      const batch = order.slice(b0, b0 + o.batchSize);
      g.fill(0);
      let wsum = 0;
      for (const i of batch) wsum += o.classWeights[y[i]];
      for (const i of batch) {
        forward(X, i);
        const w = o.classWeights[y[i]] / wsum;
        dh.fill(0);
        for (let c = 0; c < k; c++) {
          const gc = w * (z[c] - (c === y[i] ? 1 : 0));
          g[oB2 + c] += gc;
          const wo = oW2 + c * h;
          for (let j = 0; j < h; j++) {
            g[wo + j] += gc * hid[j];
            dh[j] += gc * th[wo + j];
          }
        }
        const xo = i * d;
        for (let j = 0; j < h; j++) {
          if (hid[j] <= 0) continue;
          const gj = dh[j];
          g[oB1 + j] += gj;
          const wo = j * d;
          for (let p = 0; p < d; p++) g[wo + p] += gj * X[xo + p];
        }
      }
      t++;
      const lrT = (o.lr * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
      for (let p = 0; p < P; p++) {
        const isWeight = p < oB1 || (p >= oW2 && p < oB2);
        const gp = g[p] + (isWeight ? o.l2 * th[p] : 0);
        m1[p] = 0.9 * m1[p] + 0.1 * gp;
        m2[p] = 0.999 * m2[p] + 0.001 * gp * gp;
        th[p] -= (lrT * m1[p]) / (Math.sqrt(m2[p]) + 1e-8);
      }
    }
    const vl = valLoss();
    if (vl < best - 1e-5) {
      best = vl;
      bestTh = Float64Array.from(th);
      bestEpoch = epoch;
    } else if (epoch - bestEpoch >= o.patience) break;
  }
  return {
    kind: 'mlp',
    bestEpoch,
    layers: [
      {
        weight: Float32Array.from(bestTh.subarray(0, oB1)),
        bias: Float32Array.from(bestTh.subarray(oB1, oW2)),
        inDim: d,
        outDim: h,
        relu: true,
      },
      {
        weight: Float32Array.from(bestTh.subarray(oW2, oB2)),
        bias: Float32Array.from(bestTh.subarray(oB2)),
        inDim: h,
        outDim: k,
        relu: false,
      },
    ],
  };
}
