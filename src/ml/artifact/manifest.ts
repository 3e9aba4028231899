// The model artefact's manifest (`manifest.json`): everything needed to serve, audit and
// reproduce one model version. Binary tensors live in `head.bin` (float32) and
// `prototypes.bin` (float16), addressed by element offsets listed here.
import type { OpenSetSpace } from '../openset.ts';
import type { PreprocessSpec } from '../preprocess.ts';

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
  backbone: { id: string; width: number; input_size: number; taps: string[]; feature_dim: number };
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
  };
  confidence_threshold: number;
  metrics: {
    val: { accuracy: number; macro_f1: number; ece: number; n: number; unknown_rate: number };
    per_class: Record<string, { precision: number; recall: number; f1: number; support: number }>;
    ood?: { auroc: number; nonfish_unknown_rate: number; n_nonfish: number; source: string };
  };
  /** Reference distributions for drift monitoring (PSI): deciles on the validation set. */
  reference: {
    confidence_deciles: number[];
    ood_score_deciles: number[];
    feature_norm_deciles: number[];
  };
  batching: { max_batch_size: number; max_queue_delay_ms: number };
  options: { flip_tta: boolean };
  files: {
    head: { path: string; dtype: 'float32'; tensors: Record<string, TensorRef> };
    prototypes: {
      path: string;
      dtype: 'float16';
      tensors: Record<string, TensorRef>;
      classes: number[];
    };
    card: string;
    confusion: string;
  };
  created_at: string;
}
