// Softmax regression with the same objective and L-BFGS as softmax-regression.ts, but the two
// matrix products of every loss/gradient evaluation (X·Wᵀ and Gᵀ·X) run as onnxruntime Gemm
// nodes: ~20-50x faster than the TypeScript loops, which matters for the 10-15k-dimensional grid
// pooled features (docs/model-research.md §7). One intra-op thread: the summation order, and so
// the result, does not depend on the machine's core count (same data → same weights).
import * as ort from 'onnxruntime-node';
import { GEMM_SESSION_OPTIONS, gemmModel } from '../gemm.ts';
import type { Head } from '../head/head.ts';
import { lbfgsAsync, softmaxHead } from './softmax-regression.ts';
import type { SoftmaxOptions } from './softmax-regression.ts';

let sessions: Promise<[ort.InferenceSession, ort.InferenceSession]> | undefined;

function gemmSessions(): Promise<[ort.InferenceSession, ort.InferenceSession]> {
  sessions ??= Promise.all([
    ort.InferenceSession.create(gemmModel('X', 'W', false), GEMM_SESSION_OPTIONS),
    ort.InferenceSession.create(gemmModel('G', 'X', true), GEMM_SESSION_OPTIONS),
  ]);
  sessions.catch(() => (sessions = undefined));
  return sessions;
}

/** Multinomial logistic regression (class weights, L2 on weights) by L-BFGS; products in ORT. */
export async function trainSoftmaxGemm(
  X: Float32Array,
  y: Int32Array,
  k: number,
  opts: SoftmaxOptions,
): Promise<Head> {
  const n = y.length;
  const d = X.length / n;
  const [logitsOf, gradOf] = await gemmSessions();
  const tX = new ort.Tensor('float32', X, [n, d]);
  let wsum = 0;
  for (let i = 0; i < n; i++) wsum += opts.classWeights[y[i]];
  const e = new Float64Array(k);
  const f = async (theta: Float64Array, grad: Float64Array): Promise<number> => {
    const W = new ort.Tensor('float32', Float32Array.from(theta.subarray(0, k * d)), [k, d]);
    const lo = (await logitsOf.run({ X: tX, W })).Y.data as Float32Array;
    const G = new Float32Array(n * k);
    let loss = 0;
    for (let j = 0; j < k; j++) grad[k * d + j] = 0;
    for (let i = 0; i < n; i++) {
      let m = -Infinity;
      for (let j = 0; j < k; j++) {
        e[j] = lo[i * k + j] + theta[k * d + j];
        if (e[j] > m) m = e[j];
      }
      let z = 0;
      for (let j = 0; j < k; j++) z += e[j] = Math.exp(e[j] - m);
      const w = opts.classWeights[y[i]] / wsum;
      loss -= w * Math.log(e[y[i]] / z);
      for (let j = 0; j < k; j++) {
        const g = w * (e[j] / z - (j === y[i] ? 1 : 0));
        G[i * k + j] = g;
        grad[k * d + j] += g;
      }
    }
    const gw = (await gradOf.run({ G: new ort.Tensor('float32', G, [n, k]), X: tX })).Y
      .data as Float32Array;
    for (let p = 0; p < k * d; p++) {
      loss += 0.5 * opts.l2 * theta[p] * theta[p];
      grad[p] = gw[p] + opts.l2 * theta[p];
    }
    return loss;
  };
  const theta = await lbfgsAsync(
    f,
    opts.init ?? new Float64Array(k * d + k),
    opts.maxIter ?? 60,
    opts.tol ?? 1e-9,
  );
  return softmaxHead(theta, k, d);
}
