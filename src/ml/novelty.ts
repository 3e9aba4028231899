// "A fish, but not one I know": novelty scores on pooled features, for the open-set problem that
// the non-fish check (openset.ts) does not solve. The scores compared on the leave-one-class-out
// protocol (docs/model-research.md §13) live here, so the research script, the accuracy test and
// training share one implementation. Convention as for `oodScore`: higher = more like the known
// classes; an image is novel when its score falls below a threshold.
import { inverseCholesky } from './cholesky.ts';
import type { MatMulABt } from './gemm.ts';
import { l2normalize, quantile, rejectionThreshold } from './openset.ts';
import { fitPrincipalSubspace, residualScores, type PrincipalSubspace } from './subspace.ts';

export { inverseCholesky };

/**
 * Class-conditional Gaussians with one shared, shrunk covariance (Lee et al. 2018), whitened:
 * `whiten` is L⁻¹ for Σ = L·Lᵀ, so ‖L⁻¹(x − μ_c)‖² is the squared Mahalanobis distance.
 * `background` is one Gaussian over all classes; `relative` scores subtract its distance
 * (Ren et al. 2021), which discounts directions every fish varies along.
 */
export interface GaussianNovelty {
  dim: number;
  /** Row-major [dim × dim], lower triangular: L⁻¹ of the shrunk within-class covariance. */
  whiten: Float32Array;
  /** Whitened class means, row-major [classes × dim]. */
  means: Float32Array;
  classes: number;
  /** Optional background Gaussian (relative Mahalanobis). */
  background?: { whiten: Float32Array; mean: Float32Array };
}

export interface GaussianOptions {
  /** Weight of the isotropic target in Σ = (1 − α)·S + α·(tr S / d)·I. */
  shrinkage: number;
  /** Also fit the background Gaussian (relative Mahalanobis). */
  relative?: boolean;
}

/** The novelty feature of one open-set vector: L2-normalised (the scale of a crop is no signal). */
export function noveltyFeatures(v: Float32Array): Float32Array {
  return l2normalize(v);
}

/** Σ = (1 − α)·XcᵀXc/n + α·(tr/d)·I from centred rows, in float64 (products through `mm`). */
async function shrunkCovariance(
  centred: Float32Array,
  n: number,
  d: number,
  alpha: number,
  mm: MatMulABt,
): Promise<Float64Array> {
  // XᵀX = (Xᵀ)(Xᵀ)ᵀ: one Gemm on the transposed rows.
  const t = new Float32Array(d * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) t[j * n + i] = centred[i * d + j];
  const g = await mm.run(t, d, t, d);
  const s = new Float64Array(d * d);
  let trace = 0;
  for (let j = 0; j < d; j++) trace += g[j * d + j] / n;
  const iso = (alpha * trace) / d;
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++)
      s[i * d + j] = ((1 - alpha) * g[i * d + j]) / n + (i === j ? iso : 0);
  return s;
}

/** Rows [n × d] times Lᵀ: each row x becomes L⁻¹·x when `w` = L⁻¹. */
export function whitenRows(
  rows: Float32Array,
  n: number,
  w: Float32Array,
  d: number,
  mm: MatMulABt,
): Promise<Float32Array> {
  return mm.run(rows, n, w, d);
}

/** Fits the Gaussians on open-set feature rows (already passed through `noveltyFeatures`). */
export async function fitGaussianNovelty(
  rows: readonly Float32Array[],
  y: Int32Array,
  classes: number,
  opts: GaussianOptions,
  mm: MatMulABt,
): Promise<GaussianNovelty> {
  const n = rows.length;
  const d = rows[0].length;
  const means = new Float64Array(classes * d);
  const counts = new Float64Array(classes);
  const global = new Float64Array(d);
  rows.forEach((r, i) => {
    counts[y[i]]++;
    for (let j = 0; j < d; j++) {
      means[y[i] * d + j] += r[j];
      global[j] += r[j];
    }
  });
  for (let c = 0; c < classes; c++)
    for (let j = 0; j < d; j++) means[c * d + j] /= Math.max(1, counts[c]);
  for (let j = 0; j < d; j++) global[j] /= n;
  const centred = new Float32Array(n * d);
  rows.forEach((r, i) => {
    for (let j = 0; j < d; j++) centred[i * d + j] = r[j] - means[y[i] * d + j];
  });
  const whiten = inverseCholesky(await shrunkCovariance(centred, n, d, opts.shrinkage, mm), d);
  const present = [...counts.keys()].filter((c) => counts[c] > 0);
  const m32 = new Float32Array(classes * d);
  for (const c of present) for (let j = 0; j < d; j++) m32[c * d + j] = means[c * d + j];
  const wm = await mm.run(m32, classes, whiten, d);
  // A class without rows must never be nearest: park its mean at infinity.
  for (let c = 0; c < classes; c++) if (!counts[c]) wm.fill(Infinity, c * d, (c + 1) * d);
  let background: GaussianNovelty['background'];
  if (opts.relative) {
    rows.forEach((r, i) => {
      for (let j = 0; j < d; j++) centred[i * d + j] = r[j] - global[j];
    });
    const w0 = inverseCholesky(await shrunkCovariance(centred, n, d, opts.shrinkage, mm), d);
    background = { whiten: w0, mean: await mm.run(Float32Array.from(global), 1, w0, d) };
  }
  return { dim: d, whiten, means: wm, classes, background };
}

/**
 * Negative squared Mahalanobis distance to the nearest class mean (higher = more known), per row;
 * with `relative`, minus the background distance first (needs a fitted background).
 */
export async function gaussianScores(
  g: GaussianNovelty,
  rows: readonly Float32Array[],
  mm: MatMulABt,
  relative = false,
): Promise<number[]> {
  const d = g.dim;
  const n = rows.length;
  const X = new Float32Array(n * d);
  rows.forEach((r, i) => X.set(r, i * d));
  const W = await whitenRows(X, n, g.whiten, d, mm);
  let bg: Float32Array | undefined;
  if (relative) {
    if (!g.background) throw new Error('relative Mahalanobis needs the background Gaussian');
    bg = await whitenRows(X, n, g.background.whiten, d, mm);
  }
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (let c = 0; c < g.classes; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const v = W[i * d + j] - g.means[c * d + j];
        s += v * v;
      }
      if (s < best) best = s;
    }
    if (bg) {
      let s0 = 0;
      for (let j = 0; j < d; j++) {
        const v = bg[i * d + j] - g.background!.mean[j];
        s0 += v * v;
      }
      best -= s0;
    }
    out[i] = -best;
  }
  return out;
}

/**
 * How a model scores novelty among fish (manifest `novelty`; absent: no such check). A method is
 * one part, or several parts joined by `+`, each centred and scaled by its validation median and
 * interquartile range and then summed (the parts fail on different fish:
 * docs/model-research.md §13, §15). Parts: `mahalanobis` / `relative-mahalanobis` (Gaussians on
 * the open-set features), `max-logit` (the head's largest logit), `residual` (minus the norm of
 * the open-set features off their training principal subspace, subspace.ts).
 */
export type NoveltyMethod =
  | 'mahalanobis'
  | 'relative-mahalanobis'
  | 'relative-mahalanobis+max-logit'
  | 'max-logit+residual'
  | 'relative-mahalanobis+max-logit+residual';

export const NOVELTY_METHODS: readonly NoveltyMethod[] = [
  'mahalanobis',
  'relative-mahalanobis',
  'relative-mahalanobis+max-logit',
  'max-logit+residual',
  'relative-mahalanobis+max-logit+residual',
];

type Part = 'mahalanobis' | 'relative-mahalanobis' | 'max-logit' | 'residual';
const partsOf = (m: NoveltyMethod): Part[] => m.split('+') as Part[];
/** The key of a part's scale in the manifest (`distance` for either Mahalanobis). */
const scaleKey = (p: Part): keyof NoveltyScales =>
  p === 'max-logit' ? 'max_logit' : p === 'residual' ? 'residual' : 'distance';

/** Median and interquartile range of known-fish validation scores (the combination's scale). */
export interface Scale {
  median: number;
  iqr: number;
}

export interface NoveltyScales {
  distance?: Scale;
  max_logit?: Scale;
  residual?: Scale;
}

export function scaleOf(xs: readonly number[]): Scale {
  const iqr = quantile([...xs], 0.75) - quantile([...xs], 0.25);
  return { median: quantile([...xs], 0.5), iqr: iqr || 1 };
}

/** Which fitted parts a method needs. */
export function noveltyNeeds(m: NoveltyMethod): {
  gaussian: boolean;
  relative: boolean;
  subspace: boolean;
  maxLogit: boolean;
} {
  const parts = partsOf(m);
  return {
    gaussian: parts.some((p) => p.endsWith('mahalanobis')),
    relative: parts.includes('relative-mahalanobis'),
    subspace: parts.includes('residual'),
    maxLogit: parts.includes('max-logit'),
  };
}

/** A fitted novelty model: the Gaussians and/or the principal subspace its method needs. */
export interface NoveltyModel {
  method: NoveltyMethod;
  gaussian?: GaussianNovelty;
  subspace?: PrincipalSubspace;
}

/** Each part's raw scores of rows already passed through `noveltyFeatures` (batched products). */
export async function noveltyPartScores(
  model: NoveltyModel,
  rows: readonly Float32Array[],
  maxLogits: readonly number[],
  mm: MatMulABt,
): Promise<Partial<Record<keyof NoveltyScales, number[]>>> {
  const out: Partial<Record<keyof NoveltyScales, number[]>> = {};
  for (const p of partsOf(model.method)) {
    if (p === 'max-logit') out.max_logit = [...maxLogits];
    else if (p === 'residual') {
      if (!model.subspace) throw new Error(`${model.method} needs the principal subspace`);
      out.residual = await residualScores(model.subspace, rows, mm);
    } else {
      if (!model.gaussian) throw new Error(`${model.method} needs the Gaussians`);
      out.distance = await gaussianScores(model.gaussian, rows, mm, p === 'relative-mahalanobis');
    }
  }
  return out;
}

/** The scales of a multi-part method from known-fish validation part scores (one part: none). */
export function noveltyScales(
  method: NoveltyMethod,
  parts: Partial<Record<keyof NoveltyScales, number[]>>,
): NoveltyScales | undefined {
  const ps = partsOf(method);
  if (ps.length === 1) return undefined;
  return Object.fromEntries(ps.map((p) => [scaleKey(p), scaleOf(parts[scaleKey(p)]!)]));
}

/** Weight of each scaled part in the sum (absent: 1). */
export type NoveltyWeights = Partial<Record<keyof NoveltyScales, number>>;

/** The final novelty scores from the part scores (higher = more like a known species). */
export function combineNovelty(
  method: NoveltyMethod,
  parts: Partial<Record<keyof NoveltyScales, number[]>>,
  scales?: NoveltyScales,
  weights: NoveltyWeights = {},
): number[] {
  const ps = partsOf(method).map(scaleKey);
  if (ps.length === 1) return parts[ps[0]]!;
  if (!scales) throw new Error(`${method} needs the validation scales`);
  const n = parts[ps[0]]!.length;
  return Array.from({ length: n }, (_, i) =>
    ps.reduce(
      (a, k) => a + ((weights[k] ?? 1) * (parts[k]![i] - scales[k]!.median)) / scales[k]!.iqr,
      0,
    ),
  );
}

/**
 * Artefact layout of a fitted novelty model, float16 (`novelty.bin`). Gaussians: the lower
 * triangle of L⁻¹ packed row by row (d·(d+1)/2 values), the whitened class means
 * [classes × d], and for relative Mahalanobis the background's packed L⁻¹ and whitened mean.
 * Subspace: its mean [d] and orthonormal basis [rank × d].
 */
export function packNoveltyTensors(m: NoveltyModel): {
  values: Float32Array;
  tensors: Record<string, { offset: number; length: number; shape: number[] }>;
} {
  const list: [string, Float32Array, number[]][] = [];
  const g = m.gaussian;
  if (g) {
    const d = g.dim;
    const tri = (w: Float32Array): Float32Array => {
      const out = new Float32Array((d * (d + 1)) / 2);
      let o = 0;
      for (let i = 0; i < d; i++) for (let j = 0; j <= i; j++) out[o++] = w[i * d + j];
      return out;
    };
    list.push(['whiten_lower', tri(g.whiten), [d, d]], ['class_means', g.means, [g.classes, d]]);
    if (g.background)
      list.push(
        ['background_whiten_lower', tri(g.background.whiten), [d, d]],
        ['background_mean', g.background.mean, [d]],
      );
  }
  const s = m.subspace;
  if (s)
    list.push(['subspace_mean', s.mean, [s.dim]], ['subspace_basis', s.basis, [s.rank, s.dim]]);
  const values = new Float32Array(list.reduce((a, [, t]) => a + t.length, 0));
  const tensors: Record<string, { offset: number; length: number; shape: number[] }> = {};
  let o = 0;
  for (const [name, t, shape] of list) {
    values.set(t, o);
    tensors[name] = { offset: o, length: t.length, shape };
    o += t.length;
  }
  return { values, tensors };
}

export function unpackNoveltyTensors(
  method: NoveltyMethod,
  values: Float32Array,
  tensors: Record<string, { offset: number; length: number; shape: number[] }>,
): NoveltyModel {
  const get = (name: string): Float32Array | undefined => {
    const r = tensors[name];
    return r && Float32Array.from(values.subarray(r.offset, r.offset + r.length));
  };
  let gaussian: GaussianNovelty | undefined;
  if (tensors.class_means) {
    const [classes, d] = tensors.class_means.shape;
    const square = (packed: Float32Array): Float32Array => {
      const w = new Float32Array(d * d);
      let o = 0;
      for (let i = 0; i < d; i++) for (let j = 0; j <= i; j++) w[i * d + j] = packed[o++];
      return w;
    };
    const bw = get('background_whiten_lower');
    gaussian = {
      dim: d,
      whiten: square(get('whiten_lower')!),
      means: get('class_means')!,
      classes,
      background: bw ? { whiten: square(bw), mean: get('background_mean')! } : undefined,
    };
  }
  let subspace: PrincipalSubspace | undefined;
  if (tensors.subspace_basis) {
    const [rank, dim] = tensors.subspace_basis.shape;
    subspace = { dim, rank, mean: get('subspace_mean')!, basis: get('subspace_basis')! };
  }
  return { method, gaussian, subspace };
}

export interface NoveltySettings {
  method: NoveltyMethod;
  shrinkage: number;
  /** Rank of the principal subspace (methods with a `residual` part). */
  rank?: number;
  /** Weights of the scaled parts (absent: 1 each). */
  weights?: NoveltyWeights;
  knownFishLoss: number;
}

/** Fits the parts a method needs on training rows (already passed through `noveltyFeatures`). */
export async function fitNoveltyModel(
  rows: readonly Float32Array[],
  y: Int32Array,
  classes: number,
  settings: NoveltySettings,
  mm: MatMulABt,
): Promise<NoveltyModel> {
  const needs = noveltyNeeds(settings.method);
  const gaussian = needs.gaussian
    ? await fitGaussianNovelty(
        rows,
        y,
        classes,
        { shrinkage: settings.shrinkage, relative: needs.relative },
        mm,
      )
    : undefined;
  if (needs.subspace && !settings.rank) throw new Error(`${settings.method} needs a subspace rank`);
  const subspace = needs.subspace
    ? await fitPrincipalSubspace(rows, settings.rank!, mm)
    : undefined;
  return { method: settings.method, gaussian, subspace };
}

export interface NoveltyFit {
  model: NoveltyModel;
  /** Final scores of the validation rows. */
  valScores: number[];
  threshold: number;
  scales?: NoveltyScales;
}

/**
 * Fits the novelty model on the training rows' open-set features and sets its threshold at the
 * `knownFishLoss` quantile of the validation scores (that share of known fish is given up).
 * `valMaxLogits`: the head's largest logit per validation row (methods with a `max-logit` part).
 */
export async function fitNovelty(
  trainRows: readonly Float32Array[],
  y: Int32Array,
  classes: number,
  valRows: readonly Float32Array[],
  valMaxLogits: readonly number[],
  settings: NoveltySettings,
  mm: MatMulABt,
  /**
   * The tensors as the artefact gives them back (a float16 round trip): the model is scored, and
   * its threshold set, as it will be served. float16 moves scores by a few thousandths, enough to
   * carry a validation image across the threshold.
   */
  asStored?: (values: Float32Array) => Float32Array,
): Promise<NoveltyFit> {
  const fitted = await fitNoveltyModel(trainRows.map(noveltyFeatures), y, classes, settings, mm);
  const packed = asStored && packNoveltyTensors(fitted);
  const model = packed
    ? unpackNoveltyTensors(settings.method, asStored(packed.values), packed.tensors)
    : fitted;
  const parts = await noveltyPartScores(model, valRows.map(noveltyFeatures), valMaxLogits, mm);
  const scales = noveltyScales(settings.method, parts);
  const valScores = combineNovelty(settings.method, parts, scales, settings.weights);
  return {
    model,
    valScores,
    threshold: rejectionThreshold(valScores, settings.knownFishLoss),
    scales,
  };
}
