// Per-task defaults, chosen by the measurements in docs/model-research.md.
import type { NoveltySettings } from '../novelty.ts';
import type { PreprocessSpec } from '../preprocess.ts';

export interface TaskDefaults {
  backbone: string;
  /** Pooled taps; a `:q3` suffix is 3x3-grid average pooling in the graph (backbone/specs.ts). */
  taps: string[];
  flipTta: boolean;
  /** Overrides of the global DEFAULT_PREPROCESS for this task (the size comes from the backbone). */
  preprocess?: Partial<Pick<PreprocessSpec, 'fit' | 'kernel' | 'crop'>>;
  hyper: {
    l2Grid: number[];
    maxIter: number;
    mlp:
      | {
          hidden: number;
          l2: number;
          lr: number;
          epochs: number;
          patience: number;
          batchSize: number;
        }
      | false;
    prototypesPerClass: number;
    /** Validation quantile of the open-set score used as the unknown threshold. */
    oodQuantile: number;
    /** At most this share of validation images may fall under the confidence threshold. */
    maxConfidenceRejection: number;
    /**
     * "Unknown species" check (novelty.ts): method, covariance shrinkage, subspace rank, part
     * weights, and the share of known fish (validation quantile) its threshold gives up. false:
     * no such check.
     */
    novelty: NoveltySettings | false;
  };
}

const hyper: TaskDefaults['hyper'] = {
  l2Grid: [0.01],
  maxIter: 60,
  mlp: { hidden: 32, l2: 1e-3, lr: 2e-3, epochs: 8, patience: 3, batchSize: 64 },
  prototypesPerClass: 16,
  oodQuantile: 0.05,
  maxConfidenceRejection: 0.03,
  // max-logit + ½·residual off the rank-512 principal subspace of the open-set features
  // (docs/model-research.md §15; shrinkage only matters for the Mahalanobis methods).
  novelty: {
    method: 'max-logit+residual',
    shrinkage: 0.3,
    rank: 512,
    weights: { residual: 0.5 },
    knownFishLoss: 0.05,
  },
};

export const DEFAULTS: Record<'species' | 'health', TaskDefaults> = {
  // 3x3-grid pooling of the expanded blocks 12/13 at 128 input (docs/model-research.md §7-§12):
  // val 0.896 / grouped 5-fold CV 0.906, against 0.874 / 0.849 for global average pooling at 160,
  // at 594 img/s raw at batch 32 (graph built with only these outputs). Lanczos resampling:
  // bilinear lost 0.8 val points (§10).
  species: {
    backbone: 'mnv2-140-128-b16',
    taps: ['b12_expand:q3', 'b13_expand:q3', 'b16_out'],
    flipTta: false,
    // The centre 70 % of each side (§17): less of the background a clip shares with every fish in it.
    preprocess: { kernel: 'lanczos3', crop: 0.7 },
    hyper,
  },
  // Web photos: every late expansion + block 16 output + embedding, average-pooled, with flip-TTA
  // (§11): val top-1 0.815 (λ chosen on val from the grid below).
  health: {
    backbone: 'mnv2-140-224',
    taps: [
      'b11_expand',
      'b12_expand',
      'b13_expand',
      'b14_expand',
      'b15_expand',
      'b16_expand',
      'b16_out',
      'embedding',
    ],
    flipTta: true,
    preprocess: { kernel: 'lanczos3' },
    // Health classes are conditions, not species: no unknown-species check.
    hyper: { ...hyper, l2Grid: [0.003, 0.01], novelty: false },
  },
};
