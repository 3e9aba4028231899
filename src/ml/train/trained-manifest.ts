// The manifest of a freshly trained model: what it recognises, how to feed it, how it was trained,
// what it measured on validation, and where its tensors are (artifact/manifest.ts).
import { basename, resolve } from 'node:path';
import { DEFAULT_BATCHING, MANIFEST_FORMAT, type Manifest } from '../artifact/manifest.ts';
import type { packHead } from '../artifact/store.ts';
import type { Int8Quantization } from '../backbone/quantize.ts';
import { fingerprint, groupOf } from '../data/dataset.ts';
import { type RecallInterval, recallIntervals } from '../evaluate/recall-interval.ts';
import { argmax } from '../head/head.ts';
import { quantile, type UnknownRule } from '../openset.ts';
import type {
  Calibration,
  FittedHead,
  NoveltyResult,
  TrainData,
  TrainEmbeddings,
  TrainOptions,
  TrainPlan,
} from './train-model.ts';

export function round(v: number, d: number): number {
  const f = 10 ** d;
  return Math.round(v * f) / f;
}

/**
 * The unknown rule a trained model ships with: with a novelty check, the novelty score alone
 * rejects (docs/model-research.md §22); without one, the prototype similarity.
 */
export function trainedRule(
  cal: Pick<Calibration, 'oodThreshold' | 'confThreshold'>,
  noveltyThreshold?: number,
): UnknownRule {
  return {
    gate: noveltyThreshold === undefined ? 'prototypes-or-novelty' : 'novelty',
    similarity: cal.oodThreshold,
    ...(noveltyThreshold === undefined ? {} : { novelty: noveltyThreshold }),
    confidence: cal.confThreshold,
  };
}

const scientific = (label: string): string => {
  const s = label.replace(/-/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
};

const deciles = (a: number[]): number[] =>
  Array.from({ length: 9 }, (_, i) => quantile(a, (i + 1) / 10));

export interface TrainedParts {
  opts: TrainOptions;
  plan: TrainPlan;
  data: TrainData;
  emb: TrainEmbeddings;
  fitted: FittedHead;
  cal: Calibration;
  novelty: NoveltyResult | undefined;
  ood: Manifest['metrics']['ood'];
  packed: ReturnType<typeof packHead>;
  /** The int8 backbone's quantisation, when the plan asks for int8. */
  int8: Int8Quantization | undefined;
}

export function trainedManifest(parts: TrainedParts): Manifest {
  const { opts, plan, data, fitted, cal } = parts;
  const { labels } = data;
  return {
    format: MANIFEST_FORMAT,
    name: opts.name,
    version: opts.version,
    task: opts.task,
    labels,
    label_info: Object.fromEntries(
      labels.map((l) => [
        l,
        opts.task === 'species'
          ? { scientific_name: scientific(l), display_name: scientific(l) }
          : { display_name: l.replace(/-/g, ' ') },
      ]),
    ),
    backbone: {
      id: plan.backboneId,
      width: plan.bspec.width / 100,
      input_size: plan.bspec.inputSize,
      taps: plan.taps,
      feature_dim: parts.emb.tr.dim,
      precision: plan.precision,
      ...(parts.int8 ? { quantization: parts.int8 } : {}),
    },
    preprocessing: {
      ...plan.spec,
      color: 'rgb',
      layout: 'nhwc',
      exif_orientation: true,
      alpha: 'flatten-black',
    },
    training: training(opts, plan, data),
    head: {
      kind: fitted.best.kind,
      hidden: fitted.best.kind === 'mlp' && plan.hp.mlp ? plan.hp.mlp.hidden : undefined,
      candidates: fitted.candidates.map((c) => ({
        kind: c.kind,
        l2: c.l2,
        val_accuracy: round(c.val_accuracy, 4),
        val_macro_f1: round(c.val_macro_f1, 4),
        val_nll: round(c.val_nll, 4),
        val_ece: round(c.val_ece, 4),
      })),
    },
    hyperparameters: hyperparameters(plan, fitted),
    calibration: { method: 'temperature', temperature: round(cal.T, 6) },
    open_set: {
      method: 'max-cosine-prototypes',
      feature_space: cal.space,
      prototypes: cal.prototypes.classes.length,
      per_class: plan.hp.prototypesPerClass,
      threshold: round(cal.oodThreshold, 6),
      val_quantile: plan.hp.oodQuantile,
      gate: trainedRule(cal, parts.novelty?.fit.threshold).gate,
    },
    ...(parts.novelty && plan.hp.novelty
      ? {
          novelty: {
            method: plan.hp.novelty.method,
            shrinkage: plan.hp.novelty.shrinkage,
            ...(parts.novelty.fit.model.subspace
              ? { rank: parts.novelty.fit.model.subspace.rank }
              : {}),
            threshold: round(parts.novelty.fit.threshold, 6),
            known_fish_loss: plan.hp.novelty.knownFishLoss,
            ...(parts.novelty.fit.scales ? { scales: parts.novelty.fit.scales } : {}),
            ...(plan.hp.novelty.weights ? { weights: plan.hp.novelty.weights } : {}),
          },
        }
      : {}),
    confidence_threshold: cal.confThreshold,
    metrics: metrics(cal, parts.ood, parts.novelty, recallIntervalsOf(parts)),
    reference: {
      confidence_deciles: deciles(cal.conf).map((v) => round(v, 4)),
      ood_score_deciles: deciles(cal.oodVal).map((v) => round(v, 4)),
      feature_norm_deciles: deciles(fitted.vO.map((x) => Math.hypot(...x))).map((v) => round(v, 3)),
    },
    batching: { ...DEFAULT_BATCHING },
    options: { flip_tta: plan.flipTta },
    files: files(parts),
    created_at: opts.createdAt ?? new Date().toISOString(),
  };
}

function training(opts: TrainOptions, plan: TrainPlan, data: TrainData): Manifest['training'] {
  const perClassTrain: Record<string, number> = {};
  for (const l of data.labels)
    perClassTrain[l] = data.trainItems.filter((i) => i.label === l).length;
  return {
    data: basename(resolve(opts.dataDir)),
    val: opts.valDir
      ? basename(resolve(opts.valDir))
      : `grouped split of ${basename(resolve(opts.dataDir))} (20 %, seed ${plan.seed})`,
    fingerprint: fingerprint(data.trainItems),
    val_fingerprint: fingerprint(data.valItems),
    n_train: data.trainItems.length,
    n_val: data.valItems.length,
    per_class_train: perClassTrain,
    flip_augment: true,
    seed: plan.seed,
  };
}

function hyperparameters(plan: TrainPlan, fitted: FittedHead): Manifest['hyperparameters'] {
  const { hp } = plan;
  return {
    l2: fitted.best.l2,
    l2_grid: hp.l2Grid.join(','),
    class_weighting: 'balanced',
    std_floor: '0.1 x median std',
    optimizer: fitted.best.kind === 'mlp' ? 'adam' : 'lbfgs',
    max_iter: hp.maxIter,
    ...(hp.mlp
      ? {
          mlp_hidden: hp.mlp.hidden,
          mlp_l2: hp.mlp.l2,
          mlp_lr: hp.mlp.lr,
          mlp_epochs: hp.mlp.epochs,
          mlp_patience: hp.mlp.patience,
        }
      : {}),
  };
}

/** Val recall intervals per class (a bootstrap over clips), from the calibrated val logits. */
function recallIntervalsOf({ data, fitted, cal }: TrainedParts): Record<string, RecallInterval> {
  return recallIntervals(
    fitted.yva,
    cal.valLogits.map(argmax),
    data.valItems.map(groupOf),
    data.labels,
  );
}

function metrics(
  cal: Calibration,
  ood: Manifest['metrics']['ood'],
  novelty: NoveltyResult | undefined,
  intervals: Record<string, RecallInterval>,
): Manifest['metrics'] {
  const m = cal.metrics;
  return {
    val: {
      accuracy: round(m.accuracy, 4),
      macro_f1: round(m.macro_f1, 4),
      ece: round(m.ece, 4),
      n: m.n,
      unknown_rate: round(novelty?.unknown ?? cal.unknown, 4),
    },
    per_class: Object.fromEntries(
      Object.entries(m.per_class).map(([l, c]) => [
        l,
        {
          precision: round(c.precision, 4),
          recall: round(c.recall, 4),
          f1: round(c.f1, 4),
          support: c.support,
          ...(intervals[l]
            ? {
                recall_low: round(intervals[l].low, 4),
                recall_high: round(intervals[l].high, 4),
                clips: intervals[l].clips,
              }
            : {}),
        },
      ]),
    ),
    ...(ood ? { ood } : {}),
  };
}

function files({ cal, packed, novelty }: TrainedParts): Manifest['files'] {
  const prototypes = cal.prototypes;
  return {
    head: { path: 'head.bin', dtype: 'float32', tensors: packed.tensors },
    prototypes: {
      path: 'prototypes.bin',
      dtype: 'float16',
      tensors: {
        vectors: {
          offset: 0,
          length: prototypes.vectors.length,
          shape: [prototypes.classes.length, prototypes.dim],
        },
      },
      classes: [...prototypes.classes],
    },
    ...(novelty
      ? {
          novelty: {
            path: 'novelty.bin',
            dtype: 'float16' as const,
            tensors: novelty.packed.tensors,
          },
        }
      : {}),
    card: 'MODEL_CARD.md',
    confusion: 'confusion.svg',
  };
}
