// The principal subspace of training features and the residual off it (the "virtual logit" of
// ViM, Wang et al. 2022): a fish of a species the model never learned varies along directions
// the known species do not, which the class means and the head's logits both miss
// (docs/model-research.md §15). Higher score = more known, as everywhere in novelty.ts.
import type { MatMulABt } from './gemm.ts';
import { inverseCholesky } from './cholesky.ts';
import { rng } from './rng.ts';

export interface PrincipalSubspace {
  dim: number;
  /** Mean of the training rows [dim]. */
  mean: Float32Array;
  /** Orthonormal rows spanning the top principal directions, row-major [rank × dim]. */
  basis: Float32Array;
  rank: number;
}

/** Rows of z [m × dim] made orthonormal (Cholesky QR, twice for accuracy). */
async function orthonormalRows(
  z: Float32Array,
  m: number,
  dim: number,
  mm: MatMulABt,
): Promise<Float32Array> {
  for (let pass = 0; pass < 2; pass++) {
    const g = Float64Array.from(await mm.run(z, m, z, m));
    // A tiny ridge keeps the Cholesky defined if two rows have become (nearly) parallel.
    for (let i = 0; i < m; i++) g[i * m + i] += 1e-9;
    const linv = inverseCholesky(g, m);
    z = await mm.run(linv, m, transpose(z, m, dim), dim);
  }
  return z;
}

function transpose(a: Float32Array, r: number, c: number): Float32Array {
  const o = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) o[j * r + i] = a[i * c + j];
  return o;
}

/**
 * The top-`rank` principal subspace of the rows by block subspace iteration on their covariance
 * (products through `mm`; seeded start, one ORT thread: the same rows give the same basis).
 * n centred rows span at most n − 1 directions, so the rank is capped there (a small data set,
 * e.g. a retrain with a few classes); the returned `rank` is the one used.
 */
export async function fitPrincipalSubspace(
  rows: readonly Float32Array[],
  wantedRank: number,
  mm: MatMulABt,
  iterations = 12,
  seed = 7,
): Promise<PrincipalSubspace> {
  const n = rows.length;
  const dim = rows[0].length;
  if (wantedRank >= dim)
    throw new Error(`subspace rank ${wantedRank} must be below the dimension ${dim}`);
  const rank = Math.min(wantedRank, n - 1);
  if (rank < 1) throw new Error('a principal subspace needs at least two rows');
  const mean64 = new Float64Array(dim);
  for (const r of rows) for (let j = 0; j < dim; j++) mean64[j] += r[j];
  for (let j = 0; j < dim; j++) mean64[j] /= n;
  // Covariance = XcᵀXc / n: one Gemm on the transposed centred rows.
  const t = new Float32Array(dim * n);
  rows.forEach((r, i) => {
    for (let j = 0; j < dim; j++) t[j * n + i] = r[j] - mean64[j];
  });
  const cov = await mm.run(t, dim, t, dim);
  for (let i = 0; i < cov.length; i++) cov[i] /= n;
  const rand = rng(seed);
  let q: Float32Array = Float32Array.from({ length: rank * dim }, () => rand() - 0.5);
  q = await orthonormalRows(q, rank, dim, mm);
  // (Q·C) rows = (C·Qᵀ)ᵀ since C is symmetric.
  for (let it = 0; it < iterations; it++)
    q = await orthonormalRows(await mm.run(q, rank, cov, dim), rank, dim, mm);
  return { dim, mean: Float32Array.from(mean64), basis: q, rank };
}

/** Minus the norm of each row's residual off the subspace (higher = more like training). */
export async function residualScores(
  s: PrincipalSubspace,
  rows: readonly Float32Array[],
  mm: MatMulABt,
): Promise<number[]> {
  const n = rows.length;
  const d = s.dim;
  const c = new Float32Array(n * d);
  const norm2 = new Float64Array(n);
  rows.forEach((r, i) => {
    for (let j = 0; j < d; j++) {
      const v = r[j] - s.mean[j];
      c[i * d + j] = v;
      norm2[i] += v * v;
    }
  });
  const p = await mm.run(c, n, s.basis, s.rank);
  return Array.from(norm2, (n2, i) => {
    let inside = 0;
    for (let j = 0; j < s.rank; j++) inside += p[i * s.rank + j] ** 2;
    return -Math.sqrt(Math.max(0, n2 - inside));
  });
}
