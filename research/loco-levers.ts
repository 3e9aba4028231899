// Issue 16, second round: levers beyond §13 on the leave-one-class-out protocol, with the shipped
// int8 model's features. Per fold, component scores of val, mirrored val, non-fish and mirrored
// non-fish are cached in tmp/levers/scores (fold 10 = all classes, for the non-fish guard); the
// last run assembles every candidate's table.
// Usage: node bin/run-ts.js research/loco-levers.ts [out.jsonl] [--folds 0,1,...] [--no-table]
// Needs the heads of research/loco-levers-heads.ts (base; l2norm and boot0..4 when present).
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { auroc } from '../src/ml/evaluate/metrics.ts';
import { locoTable, type LocoFold } from '../src/ml/evaluate/leave-one-class-out.ts';
import { MatMulABt } from '../src/ml/gemm.ts';
import { headLogits } from '../src/ml/head/head.ts';
import { standardize } from '../src/ml/head/standardize.ts';
import {
  fitGaussianNovelty,
  gaussianScores,
  inverseCholesky,
  noveltyFeatures,
  scaleOf,
} from '../src/ml/novelty.ts';
import { fitPrototypes, l2normalize, quantile } from '../src/ml/openset.ts';
import { rng } from '../src/ml/rng.ts';
import { DIR, foldHead, foldRows, loadData, type FoldHead } from './loco-levers-data.ts';

const args = process.argv.slice(2);
const opt = (f: string): string | undefined => {
  const i = args.indexOf(f);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const noTable = args.includes('--no-table') && (args.splice(args.indexOf('--no-table'), 1), true);
const foldList = opt('--folds');
const out = resolve(args[0] ?? 'tmp/levers/levers.jsonl');
const d = await loadData();
const mm = await MatMulABt.create();
const F = d.labels.length;
/** The four row sets every component is scored on. */
type Sets = { val: number[]; valF: number[]; nf: number[]; nfF: number[] };
const SETS = ['val', 'valF', 'nf', 'nfF'] as const;
const raws = { val: d.valRaw, valF: d.valFlipRaw, nf: d.nfRaw, nfF: d.nfFlipRaw };
const novs = Object.fromEntries(
  SETS.map((s) => [s, raws[s].map((r) => noveltyFeatures(d.os(r)))]),
) as Record<(typeof SETS)[number], Float32Array[]>;
const trainNov = d.trainRaw.map((r) => noveltyFeatures(d.os(r)));

const maxOf = (l: ArrayLike<number>): number => Math.max(...Array.from(l));
const lse = (l: ArrayLike<number>): number => {
  const m = maxOf(l);
  let s = 0;
  for (let i = 0; i < l.length; i++) s += Math.exp(l[i] - m);
  return m + Math.log(s);
};
const logitsOf = (h: FoldHead, raw: Float32Array, clip?: (x: Float32Array) => Float32Array) =>
  headLogits(h.head, standardize(h.st, clip ? clip(raw) : raw));

/** Symmetric eigen-decomposition (cyclic Jacobi) of a small matrix: values desc, vectors as rows. */
function jacobiEig(a: Float64Array, n: number): { values: number[]; vectors: Float64Array } {
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 8; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-20) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-30) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vpk = v[p * n + k];
          const vqk = v[q * n + k];
          v[p * n + k] = c * vpk - s * vqk;
          v[q * n + k] = s * vpk + c * vqk;
        }
      }
  }
  const order = [...Array(n).keys()].sort((i, j) => a[j * n + j] - a[i * n + i]);
  const vectors = new Float64Array(n * n);
  order.forEach((o, r) => vectors.set(v.subarray(o * n, (o + 1) * n), r * n));
  return { values: order.map((o) => a[o * n + o]), vectors };
}

/** Rows of Z [m × dim] made orthonormal (Cholesky QR, twice). */
async function orthoRows(z: Float32Array, m: number, dim: number): Promise<Float32Array> {
  for (let pass = 0; pass < 2; pass++) {
    const g = await mm.run(z, m, z, m);
    const linv = inverseCholesky(
      Float64Array.from(g, (v, i) => v + (i % (m + 1) === 0 ? 1e-9 : 0)),
      m,
    );
    const zt = new Float32Array(dim * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < dim; j++) zt[j * m + i] = z[i * dim + j];
    z = await mm.run(linv, m, zt, dim);
  }
  return z;
}

/** Top-D principal directions (rows, descending variance) of centred rows, by subspace iteration. */
async function pca(rows: Float32Array[], mean: Float64Array, D: number): Promise<Float32Array> {
  const n = rows.length;
  const dim = rows[0].length;
  const t = new Float32Array(dim * n);
  rows.forEach((r, i) => {
    for (let j = 0; j < dim; j++) t[j * n + i] = r[j] - mean[j];
  });
  const C = await mm.run(t, dim, t, dim);
  for (let i = 0; i < C.length; i++) C[i] /= n;
  const r = rng(7);
  let q: Float32Array = Float32Array.from({ length: D * dim }, () => r() - 0.5);
  q = await orthoRows(q, D, dim);
  for (let it = 0; it < 12; it++) q = await orthoRows(await mm.run(q, D, C, dim), D, dim);
  // Rayleigh-Ritz: rotate within the subspace so rows come out in descending variance.
  const qc = await mm.run(q, D, C, dim);
  const h = Float64Array.from(await mm.run(qc, D, q, D));
  const { vectors } = jacobiEig(h, D);
  return mm.run(Float32Array.from(vectors), D, transpose(q, D, dim), dim);
}
function transpose(a: Float32Array, r: number, c: number): Float32Array {
  const o = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) o[j * r + i] = a[i * c + j];
  return o;
}

/** Component scores of one fold (cached). */
async function foldComponents(fold: number): Promise<Record<string, Sets>> {
  const path = join(DIR, 'scores', `fold-${fold}.json`);
  const res: Record<string, Sets> = existsSync(path)
    ? JSON.parse(await readFile(path, 'utf8'))
    : {};
  const save = async (): Promise<void> => {
    await mkdir(join(DIR, 'scores'), { recursive: true });
    await writeFile(path, JSON.stringify(res));
  };
  const { idx, y, k } = foldRows(d, fold);
  const t0 = performance.now();
  const log = (s: string): void =>
    console.error(`fold ${fold} ${s} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  const each = (f: (rows: Float32Array[], nov: Float32Array[]) => number[]): Sets =>
    Object.fromEntries(SETS.map((s) => [s, f(raws[s], novs[s])])) as Sets;
  const eachAsync = async (
    f: (rows: Float32Array[], nov: Float32Array[]) => Promise<number[]>,
  ): Promise<Sets> => {
    const o: Partial<Sets> = {};
    for (const s of SETS) o[s] = await f(raws[s], novs[s]);
    return o as Sets;
  };
  const base = await foldHead(d, fold, 'base');
  if (!res['max-logit']) {
    const L = each((rows) => rows.map((r) => lse(logitsOf(base, r))));
    res['energy'] = L;
    res['max-logit'] = each((rows) => rows.map((r) => maxOf(logitsOf(base, r))));
    // ReAct: clip the raw features at a percentile of the fold's training activations.
    const r = rng(3);
    const sample: number[] = [];
    for (let s = 0; s < 400_000; s++) {
      const row = d.trainRaw[idx[Math.floor(r() * idx.length)]];
      sample.push(row[Math.floor(r() * row.length)]);
    }
    sample.sort((a, b) => a - b);
    for (const p of [0.9, 0.95, 0.99]) {
      const c = sample[Math.floor(p * sample.length)];
      const clip = (x: Float32Array): Float32Array => x.map((v) => Math.min(v, c));
      res[`react ${p} max-logit`] = each((rows) => rows.map((x) => maxOf(logitsOf(base, x, clip))));
      res[`react ${p} energy`] = each((rows) => rows.map((x) => lse(logitsOf(base, x, clip))));
    }
    await save();
    log('head scores');
  }
  for (const tag of ['l2norm', 'boot0', 'boot1', 'boot2', 'boot3', 'boot4']) {
    if (res[`${tag} max-logit`] || !existsSync(join(DIR, 'heads', `${tag}-${fold}.bin`))) continue;
    const h = await foldHead(d, fold, tag);
    const dim = d.trainRaw[0].length;
    const tf =
      tag === 'l2norm'
        ? (x: Float32Array): Float32Array => {
            let s = 0;
            for (const v of x) s += v * v;
            const f = Math.sqrt(dim / s);
            return x.map((v) => v * f);
          }
        : (x: Float32Array): Float32Array => x;
    const lg = (x: Float32Array): Float32Array => headLogits(h.head, tf(standardize(h.st, x)));
    res[`${tag} max-logit`] = each((rows) => rows.map((x) => maxOf(lg(x))));
    res[`${tag} maxprob`] = each((rows) =>
      rows.map((x) => {
        const l = lg(x);
        return Math.exp(maxOf(l) - lse(l));
      }),
    );
    await save();
    log(`${tag} head`);
  }
  const trN = idx.map((i) => trainNov[i]);
  if (!res['relative Mahalanobis']) {
    const g = await fitGaussianNovelty(trN, y, k, { shrinkage: 0.3, relative: true }, mm);
    res['Mahalanobis'] = await eachAsync((_, nov) => gaussianScores(g, nov, mm));
    res['relative Mahalanobis'] = await eachAsync((_, nov) => gaussianScores(g, nov, mm, true));
    // Background distance alone (so sub-cluster variants can reuse it: relative = sub − bg).
    res['background'] = {
      val: res['Mahalanobis'].val.map((v, i) => v - res['relative Mahalanobis'].val[i]),
      valF: res['Mahalanobis'].valF.map((v, i) => v - res['relative Mahalanobis'].valF[i]),
      nf: res['Mahalanobis'].nf.map((v, i) => v - res['relative Mahalanobis'].nf[i]),
      nfF: res['Mahalanobis'].nfF.map((v, i) => v - res['relative Mahalanobis'].nfF[i]),
    };
    await save();
    log('Gaussians');
  }
  // Several Gaussians per class (shared within-cluster covariance), relative to the background.
  const sub = async (name: string, ys: Int32Array, kk: number): Promise<void> => {
    if (res[name]) return;
    const g = await fitGaussianNovelty(trN, ys, kk, { shrinkage: 0.3 }, mm);
    const m = await eachAsync((_, nov) => gaussianScores(g, nov, mm));
    const bg = res['background'];
    res[name] = Object.fromEntries(SETS.map((s) => [s, m[s].map((v, i) => v - bg[s][i])])) as Sets;
    await save();
    log(name);
  };
  {
    const p = fitPrototypes(trN, y, k, 4, 42);
    const pv = p.vectors;
    const dim = p.dim;
    const ys = Int32Array.from(trN, (x, i) => {
      const v = l2normalize(x);
      let best = -1;
      let bs = -Infinity;
      for (let c = 0; c < p.classes.length; c++) {
        if (p.classes[c] !== y[i]) continue;
        let s = 0;
        for (let j = 0; j < dim; j++) s += v[j] * pv[c * dim + j];
        if (s > bs) [bs, best] = [s, c];
      }
      return best;
    });
    await sub('relative Mahalanobis, 4 k-means Gaussians/class', ys, p.classes.length);
    const clips = [...new Set(idx.map((i) => d.trainGroup[i]))];
    await sub(
      'relative Mahalanobis, one Gaussian per clip',
      Int32Array.from(idx, (i) => clips.indexOf(d.trainGroup[i])),
      clips.length,
    );
  }
  // PCA of the fold's novelty features: ViM-style residual and Mahalanobis in the top-D space.
  if (!res['residual 256']) {
    const dim = trN[0].length;
    const mean = new Float64Array(dim);
    for (const r of trN) for (let j = 0; j < dim; j++) mean[j] += r[j] / trN.length;
    const DMAX = 512;
    const U = await pca(trN, mean, DMAX);
    log('PCA');
    const center = (rows: Float32Array[]): Float32Array => {
      const o = new Float32Array(rows.length * dim);
      rows.forEach((r, i) => {
        for (let j = 0; j < dim; j++) o[i * dim + j] = r[j] - mean[j];
      });
      return o;
    };
    const projAll = async (rows: Float32Array[]): Promise<{ p: Float32Array; norm2: number[] }> => {
      const c = center(rows);
      const norm2 = rows.map((_, i) => {
        let s = 0;
        for (let j = 0; j < dim; j++) s += c[i * dim + j] ** 2;
        return s;
      });
      return { p: await mm.run(c, rows.length, U, DMAX), norm2 };
    };
    const pr = {} as Record<(typeof SETS)[number] | 'train', { p: Float32Array; norm2: number[] }>;
    for (const s of SETS) pr[s] = await projAll(novs[s]);
    pr.train = await projAll(trN);
    const trainMax = idx.map((i) => maxOf(logitsOf(base, d.trainRaw[i])));
    const meanTrainMax = trainMax.reduce((a, v) => a + v, 0) / trainMax.length;
    for (const D of [64, 128, 256, 512]) {
      const resid = (q: { p: Float32Array; norm2: number[] }): number[] =>
        q.norm2.map((n2, i) => {
          let s = 0;
          for (let j = 0; j < D; j++) s += q.p[i * DMAX + j] ** 2;
          return Math.sqrt(Math.max(0, n2 - s));
        });
      const trRes = resid(pr.train);
      const alpha = meanTrainMax / (trRes.reduce((a, v) => a + v, 0) / trRes.length);
      res[`residual ${D}`] = Object.fromEntries(
        SETS.map((s) => [s, resid(pr[s]).map((v) => -v)]),
      ) as Sets;
      res[`ViM ${D}`] = Object.fromEntries(
        SETS.map((s) => [s, resid(pr[s]).map((v, i) => res['energy'][s][i] - alpha * v)]),
      ) as Sets;
      if (D <= 256) {
        const proj = (q: { p: Float32Array }, n: number): Float32Array[] =>
          Array.from({ length: n }, (_, i) => q.p.slice(i * DMAX, i * DMAX + D));
        const g = await fitGaussianNovelty(
          proj(pr.train, trN.length),
          y,
          k,
          { shrinkage: 0.3, relative: true },
          mm,
        );
        res[`relative Mahalanobis, PCA ${D}`] = await eachAsync((_, __) => Promise.resolve([]));
        for (const s of SETS)
          res[`relative Mahalanobis, PCA ${D}`][s] = await gaussianScores(
            g,
            proj(pr[s], novs[s].length),
            mm,
            true,
          );
      }
    }
    await save();
    log('ViM / PCA');
  }
  return res;
}

const folds = foldList ? foldList.split(',').map(Number) : [...Array(F + 1).keys()];
const comps: Record<string, Sets>[] = [];
for (const f of folds) comps[f] = await foldComponents(f);
await mm.release();
if (noTable || folds.length < F + 1) process.exit(0);

// Candidates: single components, and weighted z-sums (each part centred and scaled by its fold's
// known-fish val median / IQR: what a deployed model knows). "+flip": each part averaged over
// the image and its mirror before scaling.
type Cand = { parts: string[]; flip: boolean; w?: number[] };
const rel = 'relative Mahalanobis';
// The §15 table: the shipped combination, then one row per lever (the others are computed too and
// land in the jsonl; a row is listed when every fold has its parts).
const listed: Record<string, Cand> = {
  [`z(${rel}) + z(max-logit) (shipped before)`]: { parts: [rel, 'max-logit'], flip: false },
  'max-logit': { parts: ['max-logit'], flip: false },
  'max-logit, ReAct clip at p99': { parts: ['react 0.99 max-logit'], flip: false },
  [`z(${rel}) + z(max-logit, ReAct p99)`]: { parts: [rel, 'react 0.99 max-logit'], flip: false },
  [`z(${rel}) + z(max-logit, ReAct p95)`]: { parts: [rel, 'react 0.95 max-logit'], flip: false },
  'max-logit, feature-normalised head': { parts: ['l2norm max-logit'], flip: false },
  [`z(${rel}) + z(max-logit, feature-normalised head)`]: {
    parts: [rel, 'l2norm max-logit'],
    flip: false,
  },
  'mean z(max-logit) of 3 heads (shipped recipe + 2 on bootstrap halves of the clips)': {
    parts: ['max-logit', 'boot0 max-logit', 'boot1 max-logit'],
    flip: false,
    w: [1 / 3, 1 / 3, 1 / 3],
  },
  [`z(${rel}) + z(max-logit of a bootstrap-half head)`]: {
    parts: [rel, 'boot0 max-logit'],
    flip: false,
  },
  'z(relative Mahalanobis, 4 k-means Gaussians/class) + z(max-logit)': {
    parts: ['relative Mahalanobis, 4 k-means Gaussians/class', 'max-logit'],
    flip: false,
  },
  'z(relative Mahalanobis, one Gaussian per clip) + z(max-logit)': {
    parts: ['relative Mahalanobis, one Gaussian per clip', 'max-logit'],
    flip: false,
  },
  'z(relative Mahalanobis, PCA 128) + z(max-logit)': {
    parts: ['relative Mahalanobis, PCA 128', 'max-logit'],
    flip: false,
  },
  'z(relative Mahalanobis, PCA 256) + z(max-logit)': {
    parts: ['relative Mahalanobis, PCA 256', 'max-logit'],
    flip: false,
  },
  'residual off the rank-512 principal subspace': { parts: ['residual 512'], flip: false },
  'ViM (energy − α·residual), rank 256': { parts: ['ViM 256'], flip: false },
  'ViM (energy − α·residual), rank 512': { parts: ['ViM 512'], flip: false },
  [`z(${rel}) + z(ViM 512)`]: { parts: [rel, 'ViM 512'], flip: false },
  [`z(${rel}) + z(max-logit) + z(residual 512)`]: {
    parts: [rel, 'max-logit', 'residual 512'],
    flip: false,
  },
  'z(max-logit) + z(residual 512)': { parts: ['max-logit', 'residual 512'], flip: false },
  'z(max-logit) + 0.4·z(residual 512)': {
    parts: ['max-logit', 'residual 512'],
    flip: false,
    w: [1, 0.4],
  },
  'z(max-logit) + 0.5·z(residual 512) (shipped)': {
    parts: ['max-logit', 'residual 512'],
    flip: false,
    w: [1, 0.5],
  },
  'z(max-logit) + 0.7·z(residual 512)': {
    parts: ['max-logit', 'residual 512'],
    flip: false,
    w: [1, 0.7],
  },
  'z(max-logit) + 0.5·z(residual, rank 768)': {
    parts: ['max-logit', 'residual r768'],
    flip: false,
    w: [1, 0.5],
  },
  'z(max-logit, feature-normalised head) + 0.3·z(residual 512)': {
    parts: ['l2norm max-logit', 'residual 512'],
    flip: false,
    w: [1, 0.3],
  },
};
const cands: Record<string, Cand> = { ...listed };
for (const [n, c] of Object.entries({ ...cands })) cands[`${n} +flip`] = { ...c, flip: true };

function candScores(c: Cand, fold: number): { val: number[]; nf: number[] } {
  const cs = comps[fold];
  const known = (xs: number[]): number[] => xs.filter((_, i) => fold === F || d.valY[i] !== fold);
  const acc = { val: new Array(d.valY.length).fill(0), nf: new Array(d.nfRaw.length).fill(0) };
  c.parts.forEach((p, pi) => {
    const s = cs[p];
    const v = c.flip ? s.val.map((x, i) => (x + s.valF[i]) / 2) : s.val;
    const n = c.flip ? s.nf.map((x, i) => (x + s.nfF[i]) / 2) : s.nf;
    const w = c.w?.[pi] ?? 1;
    if (c.parts.length === 1) {
      v.forEach((x, i) => (acc.val[i] = x));
      n.forEach((x, i) => (acc.nf[i] = x));
      return;
    }
    const sc = scaleOf(known(v));
    v.forEach((x, i) => (acc.val[i] += (w * (x - sc.median)) / sc.iqr));
    n.forEach((x, i) => (acc.nf[i] += (w * (x - sc.median)) / sc.iqr));
  });
  return acc;
}

await mkdir(resolve(out, '..'), { recursive: true });
const rows: string[] = [];
for (const [name, c] of Object.entries(cands)) {
  if (!c.parts.every((p) => comps.every((cs) => cs[p]))) continue;
  const lf: LocoFold[] = d.labels.map((label, f) => {
    const s = candScores(c, f).val;
    return {
      label,
      known: s.filter((_, i) => d.valY[i] !== f),
      unknown: s.filter((_, i) => d.valY[i] === f),
    };
  });
  const t = locoTable(lf);
  const full = candScores(c, F);
  const t5 = quantile(full.val, 0.05);
  const nonfish = {
    auroc: auroc(full.val, full.nf),
    rejected_at_5: full.nf.filter((s) => s < t5).length / full.nf.length,
  };
  await appendFile(out, `${JSON.stringify({ score: name, loco: t, nonfish })}\n`);
  rows.push(
    `| ${name} | ${t.mean.rejected.map((v) => `${(100 * v).toFixed(1)} %`).join(' | ')} | ${t.mean.auroc.toFixed(3)} | ${nonfish.auroc.toFixed(3)} | ${(100 * nonfish.rejected_at_5).toFixed(1)} % | ${t.rows.map((r) => (100 * r.rejected[1]).toFixed(0)).join(' ')} |`,
  );
}
console.log(
  '| score | rejected @ 2 % known | @ 5 % | @ 10 % | LOCO AUROC | non-fish AUROC | non-fish rejected @ 5 % | per fold @ 5 % |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
console.log(rows.join('\n'));
