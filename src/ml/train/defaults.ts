// Per-task defaults, chosen by the measurements in docs/model-research.md.
export interface TaskDefaults {
  backbone: string;
  taps: string[];
  flipTta: boolean;
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
  };
}

const hyper: TaskDefaults['hyper'] = {
  l2Grid: [0.01],
  maxIter: 60,
  mlp: { hidden: 32, l2: 1e-3, lr: 2e-3, epochs: 8, patience: 3, batchSize: 64 },
  prototypesPerClass: 16,
  oodQuantile: 0.05,
  maxConfidenceRejection: 0.03,
};

export const DEFAULTS: Record<'species' | 'health', TaskDefaults> = {
  species: {
    backbone: 'mnv2-140-160-b16',
    taps: ['b12_expand', 'b13_expand', 'b16_out'],
    flipTta: false,
    hyper,
  },
  health: {
    backbone: 'mnv2-140-224',
    taps: ['b13_expand', 'b16_out', 'embedding'],
    flipTta: false,
    hyper,
  },
};
