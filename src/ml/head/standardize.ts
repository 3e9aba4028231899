// Per-dimension standardisation. Some pooled dimensions are (nearly) constant on the training
// set; flooring each std at a fraction of the median std keeps them from exploding.
export interface Standardizer {
  mean: Float32Array;
  std: Float32Array;
}

export function fitStandardizer(rows: Float32Array[], floorFraction = 0.1): Standardizer {
  const d = rows[0].length;
  const n = rows.length;
  const mean = new Float64Array(d);
  const sq = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mean[j] += r[j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  for (const r of rows)
    for (let j = 0; j < d; j++) {
      const v = r[j] - mean[j];
      sq[j] += v * v;
    }
  const std = Float64Array.from(sq, (s) => Math.sqrt(s / Math.max(1, n - 1)));
  const sorted = Float64Array.from(std).sort();
  const floor = Math.max(sorted[Math.floor(d / 2)] * floorFraction, 1e-6);
  return { mean: Float32Array.from(mean), std: Float32Array.from(std, (s) => Math.max(s, floor)) };
}

export function standardize(
  s: Standardizer,
  x: Float32Array,
  out = new Float32Array(x.length),
): Float32Array {
  for (let j = 0; j < x.length; j++) out[j] = (x[j] - s.mean[j]) / s.std[j];
  return out;
}

/** Rows packed into one contiguous n × d matrix (cache-friendly training loops). */
export function pack(rows: Float32Array[]): Float32Array {
  const d = rows[0].length;
  const m = new Float32Array(rows.length * d);
  rows.forEach((r, i) => m.set(r, i * d));
  return m;
}
