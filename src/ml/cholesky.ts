// Cholesky factorisation and the inverse of its factor, for whitening (novelty.ts) and
// orthonormalisation (subspace.ts).
/** In-place Cholesky (lower), then the lower-triangular inverse L⁻¹ as float32. */
export function inverseCholesky(a: Float64Array, d: number): Float32Array {
  for (let j = 0; j < d; j++) {
    const rj = j * d;
    let s = a[rj + j];
    for (let k = 0; k < j; k++) s -= a[rj + k] * a[rj + k];
    if (!(s > 0)) throw new Error(`covariance not positive definite at ${j}`);
    const ljj = Math.sqrt(s);
    a[rj + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      const ri = i * d;
      let v = a[ri + j];
      for (let k = 0; k < j; k++) v -= a[ri + k] * a[rj + k];
      a[ri + j] = v / ljj;
    }
  }
  // Forward substitution one column of L⁻¹ at a time (L·x = e_j), so the inner product runs over
  // contiguous memory: a row of L and the column being built.
  const inv = new Float32Array(d * d);
  const x = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    x[j] = 1 / a[j * d + j];
    inv[j * d + j] = x[j];
    for (let i = j + 1; i < d; i++) {
      const ri = i * d;
      let v = 0;
      for (let k = j; k < i; k++) v -= a[ri + k] * x[k];
      x[i] = v / a[ri + i];
      inv[ri + j] = x[i];
    }
  }
  return inv;
}
