// Multinomial logistic regression with class weights and L2, fitted by full-batch L-BFGS.
// The objective is convex, so the result depends only on the data and λ (no seed).
import type { Head } from '../head/head.ts';

export interface SoftmaxOptions {
  l2: number;
  classWeights: Float64Array;
  maxIter?: number;
  tol?: number;
  /** Warm start (e.g. the solution for a neighbouring λ): [W (k×d) | b (k)]. */
  init?: Float64Array;
}

export function trainSoftmax(
  X: Float32Array,
  y: Int32Array,
  k: number,
  opts: SoftmaxOptions,
): Head {
  const n = y.length;
  const d = X.length / n;
  const P = k * d + k;
  let wsum = 0;
  for (let i = 0; i < n; i++) wsum += opts.classWeights[y[i]];
  const logits = new Float64Array(k);

  const f = (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const xo = i * d;
      let m = -Infinity;
      for (let j = 0; j < k; j++) {
        let s = theta[k * d + j];
        const wo = j * d;
        for (let p = 0; p < d; p++) s += theta[wo + p] * X[xo + p];
        logits[j] = s;
        if (s > m) m = s;
      }
      let z = 0;
      for (let j = 0; j < k; j++) z += logits[j] = Math.exp(logits[j] - m);
      const w = opts.classWeights[y[i]] / wsum;
      loss -= w * Math.log(logits[y[i]] / z);
      for (let j = 0; j < k; j++) {
        const g = w * (logits[j] / z - (j === y[i] ? 1 : 0));
        grad[k * d + j] += g;
        const wo = j * d;
        for (let p = 0; p < d; p++) grad[wo + p] += g * X[xo + p];
      }
    }
    for (let p = 0; p < k * d; p++) {
      loss += 0.5 * opts.l2 * theta[p] * theta[p];
      grad[p] += opts.l2 * theta[p];
    }
    return loss;
  };

  const theta = lbfgs(f, opts.init ?? new Float64Array(P), opts.maxIter ?? 60, opts.tol ?? 1e-9);
  return softmaxHead(theta, k, d);
}

/** The head whose parameters are θ = [W (k × d, row-major), b (k)]. */
export function softmaxHead(theta: Float64Array, k: number, d: number): Head {
  return {
    kind: 'softmax',
    layers: [
      {
        weight: Float32Array.from(theta.subarray(0, k * d)),
        bias: Float32Array.from(theta.subarray(k * d)),
        inDim: d,
        outDim: k,
        relu: false,
      },
    ],
  };
}

type Evaluation = { fx: number; g: Float64Array };

/** Limited-memory BFGS (two-loop recursion, m = 10) with a backtracking Armijo line search. */
export function lbfgs(
  f: (x: Float64Array, g: Float64Array) => number,
  x0: Float64Array,
  maxIter: number,
  tol: number,
): Float64Array {
  const steps = lbfgsSteps(x0, maxIter, tol);
  let r = steps.next();
  while (!r.done) {
    const g = new Float64Array(x0.length);
    const fx = f(r.value, g);
    r = steps.next({ fx, g });
  }
  return r.value;
}

/** lbfgs() with an asynchronous objective (e.g. matrix products in onnxruntime): same steps. */
export async function lbfgsAsync(
  f: (x: Float64Array, g: Float64Array) => Promise<number>,
  x0: Float64Array,
  maxIter: number,
  tol: number,
): Promise<Float64Array> {
  const steps = lbfgsSteps(x0, maxIter, tol);
  let r = steps.next();
  while (!r.done) {
    const g = new Float64Array(x0.length);
    const fx = await f(r.value, g);
    r = steps.next({ fx, g });
  }
  return r.value;
}

/** The optimiser as a generator: yields each point to evaluate, receives its value and gradient. */
function* lbfgsSteps(
  x0: Float64Array,
  maxIter: number,
  tol: number,
): Generator<Float64Array, Float64Array, Evaluation> {
  const P = x0.length;
  const M = 10;
  let x = x0;
  let { fx, g } = yield x;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const dot = (a: Float64Array, b: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < P; i++) s += a[i] * b[i];
    return s;
  };
  for (let it = 0; it < maxIter; it++) {
    const q = Float64Array.from(g);
    const alpha: number[] = [];
    for (let i = S.length - 1; i >= 0; i--) {
      alpha[i] = rho[i] * dot(S[i], q);
      for (let p = 0; p < P; p++) q[p] -= alpha[i] * Y[i][p];
    }
    const gamma = S.length
      ? dot(S.at(-1)!, Y.at(-1)!) / dot(Y.at(-1)!, Y.at(-1)!)
      : 1 / Math.sqrt(dot(g, g));
    for (let p = 0; p < P; p++) q[p] *= gamma;
    for (let i = 0; i < S.length; i++) {
      const b = rho[i] * dot(Y[i], q);
      for (let p = 0; p < P; p++) q[p] += S[i][p] * (alpha[i] - b);
    }
    // q is now H·g; the step direction is −q.
    const gd = -dot(g, q);
    if (gd >= 0) {
      S.length = Y.length = rho.length = 0;
      continue;
    }
    let step = 1;
    let xn: Float64Array = new Float64Array(P);
    let gn: Float64Array = new Float64Array(P);
    let fn = Infinity;
    for (let ls = 0; ls < 30; ls++) {
      xn = new Float64Array(P);
      for (let p = 0; p < P; p++) xn[p] = x[p] - step * q[p];
      ({ fx: fn, g: gn } = yield xn);
      if (fn <= fx + 1e-4 * step * gd) break;
      step *= 0.5;
    }
    if (!(fn <= fx)) break;
    const s = new Float64Array(P);
    const yv = new Float64Array(P);
    for (let p = 0; p < P; p++) {
      s[p] = xn[p] - x[p];
      yv[p] = gn[p] - g[p];
    }
    const sy = dot(s, yv);
    if (sy > 1e-12) {
      S.push(s);
      Y.push(yv);
      rho.push(1 / sy);
      if (S.length > M) {
        S.shift();
        Y.shift();
        rho.shift();
      }
    }
    const rel = (fx - fn) / Math.max(Math.abs(fx), 1e-12);
    x = xn;
    g = gn;
    fx = fn;
    if (rel < tol) break;
  }
  return x;
}
