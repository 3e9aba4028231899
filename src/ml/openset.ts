// Open-set (out-of-distribution) score on features, not on softmax confidence: the maximum
// cosine similarity between an image's pooled (raw) features and per-class prototypes
// (k-means centroids of the training features). Fish of known species land near a prototype;
// giraffes and cement mixers do not, however confident the softmax is.
import { parseTap, tapChannels } from './backbone/specs.ts';
import { rng } from './rng.ts';

/**
 * Feature space of the open-set score. `raw-l2`: the concatenated pooled taps as fetched.
 * `raw-l2-grid-mean`: grid-pooled taps (`:q2`...) are first reduced to the mean of their cells
 * per channel (= global average pooling when the grid divides the map), so prototypes stay as
 * small as with average pooling (160 x 2080 float16 = 650 KB for the species taps, instead of
 * 2.2 MB) and the score lives in the space measured in docs/model-research.md §4.
 */
export type OpenSetSpace = 'raw-l2' | 'raw-l2-grid-mean';

export function openSetSpace(taps: readonly string[]): OpenSetSpace {
  return taps.some((t) => parseTap(t).pool.kind === 'grid') ? 'raw-l2-grid-mean' : 'raw-l2';
}

/** The open-set features of one concatenated feature vector (see OpenSetSpace). */
export function openSetFeatures(
  raw: Float32Array,
  taps: readonly string[],
  width: 100 | 140,
  space: OpenSetSpace,
): Float32Array {
  if (space === 'raw-l2') return raw;
  const parts = taps.map((t) => {
    const { base, pool } = parseTap(t);
    return {
      len: tapChannels(width, t),
      cells: pool.kind === 'grid' ? pool.n * pool.n : 1,
      c: tapChannels(width, base),
    };
  });
  const out = new Float32Array(parts.reduce((a, p) => a + p.c, 0));
  let i = 0;
  let o = 0;
  for (const p of parts) {
    for (let ch = 0; ch < p.c; ch++) {
      let s = 0;
      for (let q = 0; q < p.cells; q++) s += raw[i + ch * p.cells + q];
      out[o + ch] = s / p.cells;
    }
    i += p.len;
    o += p.c;
  }
  if (i !== raw.length)
    throw new Error(`feature length ${raw.length} != ${i} for taps ${taps.join(',')}`);
  return out;
}

export interface Prototypes {
  dim: number;
  /** Row-major [count × dim], each row L2-normalised. */
  vectors: Float32Array;
  /** Class index of each prototype. */
  classes: Int32Array;
}

export function l2normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const inv = 1 / Math.sqrt(s || 1);
  return v.map((x) => x * inv);
}

/** Max cosine similarity to any prototype (higher = more like the training set). */
export function oodScore(p: Prototypes, features: Float32Array): number {
  const z = l2normalize(features);
  let best = -1;
  const n = p.classes.length;
  for (let r = 0; r < n; r++) {
    let s = 0;
    const o = r * p.dim;
    for (let j = 0; j < p.dim; j++) s += p.vectors[o + j] * z[j];
    if (s > best) best = s;
  }
  return best;
}

/** Spherical k-means per class (k-means++ seeding from a seeded PRNG: deterministic). */
export function fitPrototypes(
  rows: Float32Array[],
  y: Int32Array,
  k: number,
  perClass: number,
  seed: number,
): Prototypes {
  const dim = rows[0].length;
  const vecs: Float32Array[] = [];
  const classes: number[] = [];
  const rand = rng(seed);
  for (let c = 0; c < k; c++) {
    const members = rows.filter((_, i) => y[i] === c).map(l2normalize);
    if (!members.length) continue;
    const m = Math.min(perClass, Math.max(1, Math.floor(members.length / 8)));
    for (const centre of sphericalKMeans(members, m, rand)) {
      vecs.push(centre);
      classes.push(c);
    }
  }
  const vectors = new Float32Array(vecs.length * dim);
  vecs.forEach((v, i) => vectors.set(v, i * dim));
  return { dim, vectors, classes: Int32Array.from(classes) };
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function sphericalKMeans(
  xs: Float32Array[],
  m: number,
  rand: () => number,
  iters = 15,
): Float32Array[] {
  const centres: Float32Array[] = [xs[Math.floor(rand() * xs.length)]];
  const d2 = xs.map((x) => 2 - 2 * dot(x, centres[0]));
  while (centres.length < m) {
    const total = d2.reduce((a, b) => a + Math.max(b, 0), 0);
    let r = rand() * total;
    let pick = 0;
    for (; pick < xs.length - 1; pick++) if ((r -= Math.max(d2[pick], 0)) <= 0) break;
    centres.push(xs[pick]);
    xs.forEach((x, i) => (d2[i] = Math.min(d2[i], 2 - 2 * dot(x, centres.at(-1)!))));
  }
  const assign = new Int32Array(xs.length);
  for (let it = 0; it < iters; it++) {
    xs.forEach((x, i) => {
      let b = 0;
      let bs = -Infinity;
      centres.forEach((c, j) => {
        const s = dot(x, c);
        if (s > bs) {
          bs = s;
          b = j;
        }
      });
      assign[i] = b;
    });
    for (let j = 0; j < centres.length; j++) {
      const sum = new Float32Array(xs[0].length);
      let cnt = 0;
      xs.forEach((x, i) => {
        if (assign[i] !== j) return;
        cnt++;
        for (let q = 0; q < x.length; q++) sum[q] += x[q];
      });
      if (cnt) centres[j] = l2normalize(sum);
    }
  }
  return centres;
}

/**
 * The threshold (reject when score < threshold) that rejects floor(share · n) of these scores:
 * halfway between the last rejected score and the first kept one, so a kept image's score sits
 * clear of it. At the order statistic itself, the float noise between training and serving
 * (a GEMM's summation order, scaled up by a small IQR) carries that image across.
 */
export function rejectionThreshold(scores: readonly number[], share: number): number {
  const s = [...scores].sort((a, b) => a - b);
  const k = Math.min(s.length - 1, Math.max(0, Math.floor(share * s.length)));
  return k === 0 ? s[0] : (s[k - 1] + s[k]) / 2;
}

/** Score below which the given fraction of in-distribution scores fall (validation quantile). */
export function quantile(scores: readonly number[], q: number): number {
  const s = [...scores].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.floor(q * s.length)))];
}

/**
 * Which scores turn an image away as not one of the model's kinds of fish.
 * `novelty`: the novelty score alone, at its known-fish loss; the prototype similarity only names
 * the reason (`not_a_fish` below its threshold, else `unknown_species`). At the same 5 % of fish
 * val lost it rejects more non-fish of every source than both gates together
 * (docs/model-research.md §22). `prototypes-or-novelty`: either score below its threshold (models
 * trained before the novelty-only gate; models without a novelty check use the prototypes alone).
 */
export type OpenSetGate = 'prototypes-or-novelty' | 'novelty';

export interface UnknownRule {
  gate: OpenSetGate;
  /** Prototype similarity (`ood_score`) threshold. */
  similarity: number;
  /** Novelty score threshold; absent when the model has no novelty check. */
  novelty?: number;
  /** Calibrated confidence under which a known-looking fish is still too uncertain to name. */
  confidence: number;
}

export type UnknownReason =
  'not_a_fish' | 'unknown_species' | 'out_of_distribution' | 'low_confidence';

/** Why an image with these scores is answered `unknown`, or undefined when it is answered. */
export function unknownReason(
  rule: UnknownRule,
  s: { similarity: number; novelty?: number; confidence: number },
): UnknownReason | undefined {
  const unlikeFish = s.similarity < rule.similarity;
  if (rule.novelty === undefined || s.novelty === undefined) {
    if (unlikeFish) return 'out_of_distribution';
  } else if (s.novelty < rule.novelty) {
    return unlikeFish ? 'not_a_fish' : 'unknown_species';
  } else if (unlikeFish && rule.gate === 'prototypes-or-novelty') {
    return 'not_a_fish';
  }
  return s.confidence < rule.confidence ? 'low_confidence' : undefined;
}
