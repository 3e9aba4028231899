// Head-side levers on one feature set (same val + grouped 5-fold CV protocol as
// pooling.ts): softmax regression, bagged softmax heads (bootstrap over images,
// logits averaged), shrinkage LDA, and blends of softmax logits with cosine similarity to the
// class means or with LDA logits. Every variant is linear in the standardised features except the
// cosine blend. Appends JSON lines to <out.jsonl>.
// Usage: node bin/run-ts.js research/headside.ts <out.jsonl> <taps@size> [--l2 0.01] [--heads a,b] [--dataset d]
import { appendFileSync } from 'node:fs';
import { classWeights } from '../src/ml/train/fit-heads.ts';
import { headLogits } from '../src/ml/head/head.ts';
import type { Head } from '../src/ml/head/head.ts';
import { rng } from '../src/ml/rng.ts';
import { trainSoftmax } from '../src/ml/train/softmax-regression.ts';
import { fmtScore, loadTaps, scoreCandidate, select } from './pool-lib.ts';
import type { Fitter, HeadFit } from './pool-lib.ts';
import { trainSoftmaxGemm } from '../src/ml/train/softmax-gemm.ts';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const l2 = Number(opt('--l2') ?? '0.01');
const dataset = opt('--dataset') ?? 'fish-species';
const only = opt('--heads')?.split(',');
const [out, cand] = args;
const [tapStr, sizeStr] = cand.split('@');
const taps = tapStr.split('+');
const id = `mnv2-140-${sizeStr}-b16`;
const tr = await loadTaps(id, dataset, 'train', taps);
const va = await loadTaps(id, dataset, 'val', taps);
const feats = {
  trO: select(140, tr.orig, taps, tr.layout),
  trF: select(140, tr.flip, taps, tr.layout),
  vaO: select(140, va.orig, taps, va.layout),
  vaF: select(140, va.flip, taps, va.layout),
};

const dotRows =
  (W: Float64Array, b: Float64Array, k: number, d: number) => (rows: Float32Array[]) =>
    rows.map((r) => {
      const o = new Float32Array(k);
      for (let c = 0; c < k; c++) {
        let s = b[c];
        for (let j = 0; j < d; j++) s += W[c * d + j] * r[j];
        o[c] = s;
      }
      return o;
    });

const fitSoftmax = (X: Float32Array, y: Int32Array, k: number): Promise<Head> => {
  const o = { l2, classWeights: classWeights(y, k) };
  return process.env.RESEARCH_FIT === 'js'
    ? Promise.resolve(trainSoftmax(X, y, k, o))
    : trainSoftmaxGemm(X, y, k, o);
};

async function softmaxHead(X: Float32Array, y: Int32Array, k: number): Promise<HeadFit> {
  const h = await fitSoftmax(X, y, k);
  return { logits: (rows) => rows.map((r) => headLogits(h, r)) };
}

/** Bagging: B softmax heads on bootstrap samples of the images (a mirrored copy follows its image). */
const bagged =
  (B: number): Fitter =>
  async (X, y, k) => {
    const n = y.length / 2;
    const d = X.length / y.length;
    const rand = rng(7);
    const W = new Float64Array(k * d);
    const b = new Float64Array(k);
    for (let m = 0; m < B; m++) {
      const idx = Array.from({ length: n }, () => Math.floor(rand() * n));
      const rows = [...idx, ...idx.map((i) => i + n)];
      const Xb = new Float32Array(rows.length * d);
      rows.forEach((r, i) => Xb.set(X.subarray(r * d, (r + 1) * d), i * d));
      const yb = Int32Array.from(rows.map((r) => y[r]));
      const h = await fitSoftmax(Xb, yb, k);
      h.layers[0].weight.forEach((v, i) => (W[i] += v / B));
      h.layers[0].bias.forEach((v, i) => (b[i] += v / B));
    }
    return { logits: dotRows(W, b, k, d) };
  };

/** Shrinkage LDA: Σ = (1-γ) S_within + γ (tr S / d) I; equal priors. */
function ldaParams(X: Float32Array, y: Int32Array, k: number, gamma: number) {
  const n = y.length;
  const d = X.length / n;
  const mu = new Float64Array(k * d);
  const cnt = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    cnt[y[i]]++;
    for (let j = 0; j < d; j++) mu[y[i] * d + j] += X[i * d + j];
  }
  for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) mu[c * d + j] /= cnt[c] || 1;
  const S = new Float64Array(d * d);
  const r = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) r[j] = X[i * d + j] - mu[y[i] * d + j];
    for (let a = 0; a < d; a++) {
      const ra = r[a];
      if (ra === 0) continue;
      const o = a * d;
      for (let q = a; q < d; q++) S[o + q] += ra * r[q];
    }
  }
  let tr = 0;
  for (let a = 0; a < d; a++) tr += S[a * d + a];
  const nu = tr / d / (n - k);
  for (let a = 0; a < d; a++)
    for (let q = a; q < d; q++) {
      const v = ((1 - gamma) * S[a * d + q]) / (n - k) + (a === q ? gamma * nu : 0);
      S[a * d + q] = v;
      S[q * d + a] = v;
    }
  // Cholesky in place (lower).
  for (let j = 0; j < d; j++) {
    let s = S[j * d + j];
    for (let p = 0; p < j; p++) s -= S[j * d + p] * S[j * d + p];
    const ljj = Math.sqrt(s);
    S[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let t = S[i * d + j];
      for (let p = 0; p < j; p++) t -= S[i * d + p] * S[j * d + p];
      S[i * d + j] = t / ljj;
    }
  }
  const W = new Float64Array(k * d);
  const b = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    const z = mu.slice(c * d, (c + 1) * d);
    for (let i = 0; i < d; i++) {
      let t = z[i];
      for (let p = 0; p < i; p++) t -= S[i * d + p] * z[p];
      z[i] = t / S[i * d + i];
    }
    for (let i = d - 1; i >= 0; i--) {
      let t = z[i];
      for (let p = i + 1; p < d; p++) t -= S[p * d + i] * z[p];
      z[i] = t / S[i * d + i];
    }
    let q = 0;
    for (let j = 0; j < d; j++) q += z[j] * mu[c * d + j];
    W.set(z, c * d);
    b[c] = -0.5 * q;
  }
  return { W, b, mu, d };
}

const lda =
  (gamma: number): Fitter =>
  (X, y, k) => {
    const p = ldaParams(X, y, k, gamma);
    return { logits: dotRows(p.W, p.b, k, p.d) };
  };

/** softmax logits + α × LDA logits (a single linear head). */
const softmaxPlusLda =
  (gamma: number, alpha: number): Fitter =>
  async (X, y, k) => {
    const s = await softmaxHead(X, y, k);
    const p = ldaParams(X, y, k, gamma);
    const l = dotRows(p.W, p.b, k, p.d);
    return {
      logits: (rows) => {
        const a = s.logits(rows);
        const c = l(rows);
        return a.map((v, i) => v.map((x, j) => x + alpha * c[i][j]));
      },
    };
  };

/** softmax logits + β × cosine similarity to each class mean (standardised space). */
const softmaxPlusCos =
  (beta: number): Fitter =>
  async (X, y, k) => {
    const s = await softmaxHead(X, y, k);
    const n = y.length;
    const d = X.length / n;
    const mu = new Float64Array(k * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[y[i] * d + j] += X[i * d + j];
    for (let c = 0; c < k; c++) {
      let q = 0;
      for (let j = 0; j < d; j++) q += mu[c * d + j] ** 2;
      const inv = 1 / Math.sqrt(q || 1);
      for (let j = 0; j < d; j++) mu[c * d + j] *= inv;
    }
    return {
      logits: (rows) => {
        const a = s.logits(rows);
        return rows.map((r, i) => {
          let nr = 0;
          for (const v of r) nr += v * v;
          nr = 1 / Math.sqrt(nr || 1);
          return a[i].map((x, c) => {
            let t = 0;
            for (let j = 0; j < d; j++) t += mu[c * d + j] * r[j];
            return x + beta * t * nr;
          });
        });
      },
    };
  };

const heads: Record<string, Fitter> = {
  softmax: softmaxHead,
  'bagged-5': bagged(5),
  'bagged-10': bagged(10),
  'lda-0.1': lda(0.1),
  'lda-0.3': lda(0.3),
  'lda-0.6': lda(0.6),
  'lda-0.9': lda(0.9),
  'softmax+cos-1': softmaxPlusCos(1),
  'softmax+cos-5': softmaxPlusCos(5),
  'softmax+cos-15': softmaxPlusCos(15),
  'softmax+lda0.6x0.5': softmaxPlusLda(0.6, 0.5),
  'softmax+lda0.6x1': softmaxPlusLda(0.6, 1),
};
for (const [name, fit] of Object.entries(heads)) {
  if (only && !only.includes(name)) continue;
  const s = await scoreCandidate(feats, tr, va, fit);
  const row = { candidate: cand, dataset, head: name, l2, dim: feats.trO[0].length, ...s };
  if (out !== '-') appendFileSync(out, `${JSON.stringify(row)}\n`);
  console.log(`${cand} ${name}: ${fmtScore(s)}`);
}
