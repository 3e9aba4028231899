// The model artefact's manifest (`manifest.json`): everything needed to serve, audit and
// reproduce one model version. Binary tensors live in `head.bin` (float32) and
// `prototypes.bin` (float16), addressed by element offsets listed here.
import type { ActivationRanges } from '../backbone/onnx-writer.ts';
import type { BackbonePrecision, Int8Quantization } from '../backbone/quantize.ts';
import type { NoveltyMethod, NoveltyScales, NoveltySettings, NoveltyWeights } from '../novelty.ts';
import type { OpenSetGate, OpenSetSpace, UnknownRule } from '../openset.ts';
import { cropOf, type PreprocessSpec } from '../preprocess.ts';

export const MANIFEST_FORMAT = 'aquaml-model/1';

export interface TensorRef {
  /** Offset and length in elements (not bytes) within the file. */
  offset: number;
  length: number;
  shape: number[];
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  name: string;
  version: number;
  task: 'species' | 'health';
  labels: string[];
  /** Per-label display data, e.g. `{ scientific_name }` for species. */
  label_info: Record<string, { scientific_name?: string; display_name: string }>;
  backbone: {
    id: string;
    width: number;
    input_size: number;
    taps: string[];
    feature_dim: number;
    /** Absent in manifests written before int8 backbones: fp32. */
    precision?: BackbonePrecision;
    /** With `precision: int8`: how the graph was quantised, and its activation ranges. */
    quantization?: Int8Quantization;
  };
  preprocessing: PreprocessSpec & {
    color: 'rgb';
    layout: 'nhwc';
    exif_orientation: true;
    alpha: 'flatten-black';
  };
  training: {
    data: string;
    val: string;
    fingerprint: string;
    val_fingerprint: string;
    n_train: number;
    n_val: number;
    per_class_train: Record<string, number>;
    flip_augment: boolean;
    seed: number;
  };
  head: {
    kind: 'softmax' | 'mlp';
    hidden?: number;
    candidates: {
      kind: string;
      l2: number;
      val_accuracy: number;
      val_macro_f1: number;
      val_nll: number;
    }[];
  };
  hyperparameters: Record<string, number | string | boolean>;
  calibration: { method: 'temperature'; temperature: number };
  open_set: {
    method: 'max-cosine-prototypes';
    /** `raw-l2-grid-mean`: grid-pooled taps reduced to their cell mean first (openset.ts). */
    feature_space: OpenSetSpace;
    prototypes: number;
    per_class: number;
    threshold: number;
    val_quantile: number;
    /** Which scores reject an image (openset.ts); absent in older models: `prototypes-or-novelty`. */
    gate?: OpenSetGate;
  };
  /**
   * "A fish, but not a species I know" (novelty.ts), on the L2-normalised open-set features:
   * a fish whose score falls below `threshold` is `unknown_species`. Absent in older models.
   */
  novelty?: {
    method: NoveltyMethod;
    /** Covariance shrinkage towards the isotropic target. */
    shrinkage: number;
    /** Rank of the principal subspace (methods with a `residual` part). */
    rank?: number;
    threshold: number;
    /** The share of known-fish validation images the threshold was chosen to reject. */
    known_fish_loss: number;
    /** Validation median / IQR of each part (methods of several parts only). */
    scales?: NoveltyScales;
    /** Weights of the scaled parts in the sum (absent: 1 each). */
    weights?: NoveltyWeights;
  };
  confidence_threshold: number;
  metrics: {
    val: { accuracy: number; macro_f1: number; ece: number; n: number; unknown_rate: number };
    per_class: Record<
      string,
      {
        precision: number;
        recall: number;
        f1: number;
        support: number;
        /** Recall's 95 % interval, a bootstrap over val clips (absent in older models). */
        recall_low?: number;
        recall_high?: number;
        clips?: number;
      }
    >;
    ood?: { auroc: number; nonfish_unknown_rate: number; n_nonfish: number; source: string };
  };
  /** Reference distributions for drift monitoring (PSI): deciles on the validation set. */
  reference: {
    confidence_deciles: number[];
    ood_score_deciles: number[];
    feature_norm_deciles: number[];
  };
  batching: Batching;
  options: { flip_tta: boolean };
  files: {
    head: { path: string; dtype: 'float32'; tensors: Record<string, TensorRef> };
    prototypes: {
      path: string;
      dtype: 'float16';
      tensors: Record<string, TensorRef>;
      classes: number[];
    };
    /** Tensors of the novelty model (novelty.ts `packNoveltyTensors`). */
    novelty?: { path: string; dtype: 'float16'; tensors: Record<string, TensorRef> };
    card: string;
    confusion: string;
  };
  created_at: string;
}

/** The decoding part of a manifest's preprocessing (what `decodeRgb` and the embedder take). */
export function preprocessSpec(manifest: Pick<Manifest, 'preprocessing'>): PreprocessSpec {
  const p = manifest.preprocessing;
  return {
    size: p.size,
    fit: p.fit,
    kernel: p.kernel,
    scale: p.scale,
    // Checked here, when a model loads, rather than failing every request that decodes for it.
    ...(cropOf(p) < 1 ? { crop: p.crop } : {}),
  };
}

/** The thresholds that make a prediction `unknown` (openset.ts `unknownReason`). */
export function unknownRule(
  m: Pick<Manifest, 'open_set' | 'novelty' | 'confidence_threshold'>,
): UnknownRule {
  return {
    gate: m.open_set.gate ?? 'prototypes-or-novelty',
    similarity: m.open_set.threshold,
    ...(m.novelty ? { novelty: m.novelty.threshold } : {}),
    confidence: m.confidence_threshold,
  };
}

/** The settings a model's novelty check was fitted with, to fit it again the same way. */
export function noveltySettings(novelty: NonNullable<Manifest['novelty']>): NoveltySettings {
  return {
    method: novelty.method,
    shrinkage: novelty.shrinkage,
    rank: novelty.rank,
    weights: novelty.weights,
    knownFishLoss: novelty.known_fish_loss,
  };
}

/**
 * The activation ranges of the int8 graph a manifest's backbone asks for, or undefined for fp32
 * (the default: manifests that predate int8 backbones have no `precision`).
 */
export function backboneInt8(backbone: Manifest['backbone']): ActivationRanges | undefined {
  const precision: unknown = backbone.precision ?? 'fp32';
  if (precision === 'fp32') return undefined;
  if (precision !== 'int8')
    throw new Error(`backbone.precision must be int8 or fp32, got ${JSON.stringify(precision)}`);
  const ranges = backbone.quantization?.ranges;
  if (!ranges || typeof ranges !== 'object' || !Object.keys(ranges).length)
    throw new Error('an int8 backbone needs its activation ranges (backbone.quantization.ranges)');
  return ranges;
}

export interface Batching {
  max_batch_size: number;
  max_queue_delay_ms: number;
}

/**
 * The one home of the dynamic batching defaults: training writes them into each manifest, serving
 * falls back to them for a manifest without `batching`; AQUAML_MAX_BATCH_SIZE and
 * AQUAML_MAX_QUEUE_DELAY_MS override both.
 */
export const DEFAULT_BATCHING: Batching = { max_batch_size: 32, max_queue_delay_ms: 4 };
