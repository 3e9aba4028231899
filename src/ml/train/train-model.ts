// `trainModel`: image folders → a complete model artefact directory (see artifact/manifest.ts).
// One function per job: scan the data, embed it, fit the head, calibrate and set the open-set
// thresholds, measure non-fish images, then write the manifest (train/trained-manifest.ts).
import { readFile, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { BackbonePool } from '../backbone/session.ts';
import {
  type BackbonePrecision,
  CALIBRATION_IMAGES,
  calibrateRanges,
  type Int8Quantization,
} from '../backbone/quantize.ts';
import { type BackboneSpec, hasTap, parseBackboneId, parseTap } from '../backbone/specs.ts';
import { groupedSplit, listImageFolder, sha256File } from '../data/dataset.ts';
import type { ImageItem } from '../data/dataset.ts';
import { type Embeddings, embedItems } from '../embed/embedder.ts';
import { auroc, computeMetrics } from '../evaluate/metrics.ts';
import { listImagesRecursive } from '../evaluate/evaluate-model.ts';
import { MatMulABt } from '../gemm.ts';
import {
  combineNovelty,
  fitNovelty,
  type NoveltyFit,
  noveltyFeatures,
  noveltyPartScores,
  packNoveltyTensors,
} from '../novelty.ts';
import {
  fitPrototypes,
  oodScore,
  openSetFeatures,
  type OpenSetSpace,
  openSetSpace,
  type Prototypes,
  rejectionThreshold,
  unknownReason,
} from '../openset.ts';
import { DEFAULT_PREPROCESS, decodeRgb, type PreprocessSpec } from '../preprocess.ts';
import { confusionSvg } from '../artifact/confusion-svg.ts';
import { decodeHalf, encodeHalf } from '../artifact/float16.ts';
import { modelCard } from '../artifact/card.ts';
import type { Manifest } from '../artifact/manifest.ts';
import { packHead, writeArtifact } from '../artifact/store.ts';
import { fitTemperature } from './calibrate.ts';
import { fitHeads, type HeadCandidate } from './fit-heads.ts';
import { argmax, headLogits, softmax } from '../head/head.ts';
import { fitStandardizer, pack, type Standardizer, standardize } from '../head/standardize.ts';
import { DEFAULTS, type TaskDefaults } from './defaults.ts';
import { round, trainedManifest, trainedRule } from './trained-manifest.ts';

export interface TrainProgress {
  phase: 'scan' | 'embed' | 'fit' | 'calibrate' | 'write';
  done?: number;
  total?: number;
  message?: string;
}

export interface TrainOptions {
  task: 'species' | 'health';
  dataDir: string;
  valDir?: string;
  name: string;
  version: number;
  backbone?: string;
  taps?: string[];
  seed?: number;
  outDir: string;
  cacheDir: string;
  /** Where backbone ONNX files live (default `<cacheDir>/store`); or pass a shared pool. */
  storeDir?: string;
  backbones?: BackbonePool;
  flipTta?: boolean;
  /** Images of none of the classes (e.g. non-fish, searched recursively): adds open-set metrics. */
  oodDir?: string;
  oodDescription?: string;
  /** Fixed timestamp for reproducible manifests (default: now). */
  createdAt?: string;
  onProgress?: (p: TrainProgress) => void;
  /**
   * Backbone precision (default fp32). int8: static quantisation with activation ranges calibrated
   * on training images; the same recipe also runs on fp32, so the card can state what int8 changed.
   */
  precision?: BackbonePrecision;
}

export interface TrainResult {
  outDir: string;
  manifest: Manifest;
  embeddingSeconds: number;
  trainingSeconds: number;
}

/** The settings of one run: the options resolved against the task's defaults. */
export interface TrainPlan {
  seed: number;
  backboneId: string;
  bspec: BackboneSpec;
  taps: string[];
  spec: PreprocessSpec;
  hp: TaskDefaults['hyper'];
  flipTta: boolean;
  precision: BackbonePrecision;
}

/** Training and validation images (a grouped split of the training folder without a val folder). */
export interface TrainData {
  labels: string[];
  trainItems: ImageItem[];
  valItems: ImageItem[];
  /** Images of none of the classes, for open-set metrics (empty without oodDir). */
  oodItems: ImageItem[];
}

export interface TrainEmbeddings {
  tr: Embeddings;
  va: Embeddings;
  oo?: Embeddings;
}

/** The fitted head on standardised features (training rows are the originals and their flips). */
export interface FittedHead {
  st: Standardizer;
  rows: Float32Array[];
  yAug: Int32Array;
  yva: Int32Array;
  /** Standardised validation rows, original and flipped. */
  vO: Float32Array[];
  vF: Float32Array[];
  best: HeadCandidate;
  candidates: HeadCandidate[];
}

/** Temperature, open-set prototypes and thresholds, and the validation figures they give. */
export interface Calibration {
  T: number;
  space: OpenSetSpace;
  prototypes: Prototypes;
  oodVal: number[];
  oodThreshold: number;
  conf: number[];
  confThreshold: number;
  /** Share of validation images answered unknown (low confidence or open-set score). */
  unknown: number;
  /** Validation logits (flip-averaged under flip TTA). */
  valLogits: number[][];
  metrics: ReturnType<typeof computeMetrics>;
  /** Open-set score of an image's raw features. */
  osf: (r: Float32Array) => Float32Array;
}

/** The "unknown species" check (novelty.ts), fitted when the task's defaults ask for one. */
export interface NoveltyResult {
  fit: NoveltyFit;
  /** Novelty scores of the non-fish images (undefined without oodDir). */
  nonfish?: number[];
  /** Validation unknown rate with this check added to the others. */
  unknown: number;
  packed: ReturnType<typeof packNoveltyTensors>;
}

export async function trainModel(opts: TrainOptions): Promise<TrainResult> {
  const plan = planOf(opts);
  const progress = opts.onProgress ?? (() => undefined);
  const data = await scan(opts, plan, progress);
  const int8 = plan.precision === 'int8' ? await quantize(opts, plan, data, progress) : undefined;

  const t0 = performance.now();
  const emb = await embed(opts, plan, data, int8, progress);
  const embeddingSeconds = (performance.now() - t0) / 1000;

  const t1 = performance.now();
  const fitted = await fitHead(plan, data, emb, progress);
  progress({ phase: 'calibrate' });
  const cal = calibrate(plan, data, emb, fitted);
  const novelty = await fitNoveltyCheck(plan, data, emb, fitted, cal);
  const ood = emb.oo ? await openSetMetrics(opts, emb.oo, fitted, cal, novelty) : undefined;
  const trainingSeconds = (performance.now() - t1) / 1000;

  const packed = packHead({
    standardizer: fitted.st,
    head: fitted.best.head,
    prototypes: cal.prototypes,
  });
  const manifest = trainedManifest({
    opts,
    plan,
    data,
    emb,
    fitted,
    cal,
    novelty,
    ood,
    packed,
    int8,
  });
  progress({ phase: 'write', message: opts.outDir });
  await writeOutputs(
    opts,
    manifest,
    packed.bytes,
    cal.prototypes,
    cal.metrics.confusion_matrix,
    novelty?.packed.values,
  );
  return { outDir: opts.outDir, manifest, embeddingSeconds, trainingSeconds };
}

function planOf(opts: TrainOptions): TrainPlan {
  const defaults = DEFAULTS[opts.task];
  const backboneId = opts.backbone ?? defaults.backbone;
  const taps = opts.taps ?? defaults.taps;
  const bspec = parseBackboneId(backboneId);
  const precision = opts.precision ?? 'fp32';
  if (precision !== 'fp32' && precision !== 'int8')
    throw new Error(`precision must be int8 or fp32, got ${String(precision)}`);
  for (const t of taps)
    if (!hasTap(bspec, t) || parseTap(t).pool.kind === 'raw')
      throw new Error(`backbone ${backboneId} has no tap ${t}`);
  return {
    seed: opts.seed ?? 42,
    backboneId,
    bspec,
    taps,
    spec: { ...DEFAULT_PREPROCESS, ...defaults.preprocess, size: bspec.inputSize },
    hp: defaults.hyper,
    flipTta: opts.flipTta ?? defaults.flipTta,
    precision,
  };
}

async function scan(
  opts: TrainOptions,
  plan: TrainPlan,
  progress: (p: TrainProgress) => void,
): Promise<TrainData> {
  progress({ phase: 'scan', message: `scanning ${opts.dataDir}` });
  const train = await listImageFolder(opts.dataDir);
  let trainItems: ImageItem[] = train.items;
  let valItems: ImageItem[];
  if (opts.valDir) valItems = (await listImageFolder(opts.valDir)).items;
  else ({ train: trainItems, val: valItems } = groupedSplit(train.items, 0.2, plan.seed));
  if (train.labels.length < 2) throw new Error('need at least two class folders');
  const oodItems: ImageItem[] = opts.oodDir
    ? await Promise.all(
        (await listImagesRecursive(opts.oodDir)).map(async (path) => ({
          path,
          label: '',
          sha256: await sha256File(path),
        })),
      )
    : [];
  return { labels: train.labels, trainItems, valItems, oodItems };
}

/**
 * Activation ranges for an int8 backbone, calibrated on evenly spaced training images, and the
 * same recipe's fp32 figures for the card (its embeddings are cached).
 */
async function quantize(
  opts: TrainOptions,
  plan: TrainPlan,
  data: TrainData,
  progress: (p: TrainProgress) => void,
): Promise<Int8Quantization> {
  const refDir = `${opts.outDir}.fp32-reference`;
  const ref = await trainModel({
    ...opts,
    precision: 'fp32',
    oodDir: undefined,
    outDir: refDir,
    onProgress: (p) =>
      progress({ ...p, message: `fp32 reference${p.message ? `: ${p.message}` : ''}` }),
  }).finally(() => rm(refDir, { recursive: true, force: true }));
  const { trainItems } = data;
  const n = Math.min(CALIBRATION_IMAGES, trainItems.length);
  const sample = Array.from(
    { length: n },
    (_, i) => trainItems[Math.floor((i * trainItems.length) / n)]!,
  );
  progress({
    phase: 'embed',
    message: `calibrating int8 activation ranges on ${n} training images`,
  });
  const decoded = await Promise.all(
    sample.map(async (it) => decodeRgb(await readFile(it.path), plan.spec)),
  );
  return {
    format: 'qdq',
    weights: 'int8-symmetric-per-channel',
    activations: 'uint8-per-tensor',
    calibration: { method: 'minmax', images: n, source: 'training images, evenly spaced' },
    ranges: await calibrateRanges(plan.bspec, plan.taps, decoded),
    fp32_reference: {
      val_accuracy: ref.manifest.metrics.val.accuracy,
      val_macro_f1: ref.manifest.metrics.val.macro_f1,
    },
  };
}

/** Backbone features of every image (and of its horizontal flip, for training and validation). */
async function embed(
  opts: TrainOptions,
  plan: TrainPlan,
  data: TrainData,
  int8: Int8Quantization | undefined,
  progress: (p: TrainProgress) => void,
): Promise<TrainEmbeddings> {
  const { trainItems, valItems, oodItems } = data;
  const ownPool = !opts.backbones;
  const pool = opts.backbones ?? new BackbonePool(opts.storeDir ?? join(opts.cacheDir, 'store'));
  try {
    const session = await pool.get(plan.backboneId, plan.taps, int8?.ranges);
    const total = trainItems.length + valItems.length;
    const common = {
      session,
      spec: plan.spec,
      taps: plan.taps,
      flip: true,
      cacheDir: opts.cacheDir,
    };
    const tr = await embedItems(trainItems, {
      ...common,
      onProgress: (d) => progress({ phase: 'embed', done: d, total }),
    });
    const va = await embedItems(valItems, {
      ...common,
      onProgress: (d) => progress({ phase: 'embed', done: trainItems.length + d, total }),
    });
    const oo = oodItems.length ? await embedItems(oodItems, { ...common, flip: false }) : undefined;
    return { tr, va, oo };
  } finally {
    if (ownPool) await pool.close();
  }
}

async function fitHead(
  plan: TrainPlan,
  data: TrainData,
  emb: TrainEmbeddings,
  progress: (p: TrainProgress) => void,
): Promise<FittedHead> {
  const yOf = (items: ImageItem[]): Int32Array =>
    Int32Array.from(items.map((i) => data.labels.indexOf(i.label)));
  const ytr = yOf(data.trainItems);
  const yva = yOf(data.valItems);
  const rows = [...emb.tr.original, ...emb.tr.flipped!];
  const st = fitStandardizer(rows);
  const X = pack(rows.map((r) => standardize(st, r)));
  const yAug = Int32Array.from([...ytr, ...ytr]);
  const vO = emb.va.original.map((r) => standardize(st, r));
  const vF = emb.va.flipped!.map((r) => standardize(st, r));
  const { best, candidates } = await fitHeads(X, yAug, vO, yva, data.labels, {
    l2Grid: plan.hp.l2Grid,
    mlp: plan.hp.mlp,
    seed: plan.seed,
    maxIter: plan.hp.maxIter,
    onProgress: (message) => progress({ phase: 'fit', message }),
  });
  return { st, rows, yAug, yva, vO, vF, best, candidates };
}

function calibrate(
  plan: TrainPlan,
  data: TrainData,
  emb: TrainEmbeddings,
  fitted: FittedHead,
): Calibration {
  const { best, vO, vF, yva, rows, yAug } = fitted;
  const logits = vO.map((x, i) => {
    const a = headLogits(best.head, x);
    if (!plan.flipTta) return a;
    const b = headLogits(best.head, vF[i]);
    return a.map((v, j) => (v + b[j]) / 2);
  });
  const T = fitTemperature(logits, yva);
  const probs = logits.map((l) => softmax(l, T));
  // Open-set prototypes live in the raw (unstandardised) feature space: measured AUROC 0.99 vs
  // 0.95 after standardisation, which inflates near-constant dimensions (docs/model-research.md).
  const space = openSetSpace(plan.taps);
  const osf = (r: Float32Array): Float32Array =>
    openSetFeatures(r, plan.taps, plan.bspec.width, space);
  const fittedPrototypes = fitPrototypes(
    rows.map(osf),
    yAug,
    data.labels.length,
    plan.hp.prototypesPerClass,
    plan.seed,
  );
  // Thresholds are set on the prototypes as stored (float16), as they will be served.
  const prototypes = { ...fittedPrototypes, vectors: roundTripHalf(fittedPrototypes.vectors) };
  const oodVal = emb.va.original.map((x) => oodScore(prototypes, osf(x)));
  const oodThreshold = rejectionThreshold(oodVal, plan.hp.oodQuantile);
  const conf = probs.map((p) => p[argmax(p)]);
  const confThreshold = pickConfidenceThreshold(conf, plan.hp.maxConfidenceRejection);
  const rule = trainedRule({ oodThreshold, confThreshold });
  const unknown =
    conf.filter(
      (confidence, i) => unknownReason(rule, { similarity: oodVal[i]!, confidence }) !== undefined,
    ).length / conf.length;
  const metrics = computeMetrics(yva, probs, data.labels);
  return {
    T,
    space,
    prototypes,
    oodVal,
    oodThreshold,
    conf,
    confThreshold,
    unknown,
    valLogits: logits.map((l) => Array.from(l)),
    metrics,
    osf,
  };
}

const maxLogit = (l: ArrayLike<number>): number => Math.max(...Array.from(l));

/** Values as a float16 artefact file gives them back. */
const roundTripHalf = (values: Float32Array): Float32Array => decodeHalf(encodeHalf(values));

/**
 * "Unknown species": a Gaussian novelty score on the open-set features combined with the max
 * logit; its threshold gives up hp.novelty.knownFishLoss of the validation fish.
 */
async function fitNoveltyCheck(
  plan: TrainPlan,
  data: TrainData,
  emb: TrainEmbeddings,
  fitted: FittedHead,
  cal: Calibration,
): Promise<NoveltyResult | undefined> {
  const settings = plan.hp.novelty;
  if (!settings) return undefined;
  const { osf } = cal;
  const mm = await MatMulABt.create();
  try {
    const fit = await fitNovelty(
      fitted.rows.map(osf),
      fitted.yAug,
      data.labels.length,
      emb.va.original.map(osf),
      cal.valLogits.map(maxLogit),
      settings,
      mm,
      roundTripHalf,
    );
    let nonfish: number[] | undefined;
    if (emb.oo) {
      const parts = await noveltyPartScores(
        fit.model,
        emb.oo.original.map((r) => noveltyFeatures(osf(r))),
        emb.oo.original.map((r) =>
          maxLogit(headLogits(fitted.best.head, standardize(fitted.st, r))),
        ),
        mm,
      );
      nonfish = combineNovelty(settings.method, parts, fit.scales, settings.weights);
    }
    const rule = trainedRule(cal, fit.threshold);
    const unknown =
      cal.conf.filter(
        (confidence, i) =>
          unknownReason(rule, {
            similarity: cal.oodVal[i]!,
            novelty: fit.valScores[i]!,
            confidence,
          }) !== undefined,
      ).length / cal.conf.length;
    return { fit, nonfish, unknown, packed: packNoveltyTensors(fit.model) };
  } finally {
    await mm.release();
  }
}

/** How well the open-set check keeps images of none of the classes out (AUROC, unknown rate). */
async function openSetMetrics(
  opts: TrainOptions,
  oo: Embeddings,
  fitted: FittedHead,
  cal: Calibration,
  novelty: NoveltyResult | undefined,
): Promise<NonNullable<Manifest['metrics']['ood']>> {
  const zs = oo.original.map((r) => standardize(fitted.st, r));
  const scores = oo.original.map((r) => oodScore(cal.prototypes, cal.osf(r)));
  const rule = trainedRule(cal, novelty?.fit.threshold);
  const unknownOod = zs.filter((z, i) => {
    const p = softmax(headLogits(fitted.best.head, z), cal.T);
    const reason = unknownReason(rule, {
      similarity: scores[i]!,
      novelty: novelty?.nonfish?.[i],
      confidence: p[argmax(p)]!,
    });
    return reason !== undefined;
  }).length;
  // The AUROC of the score that rejects: the novelty score when it alone decides.
  const gating =
    rule.gate === 'novelty' && novelty?.nonfish
      ? auroc(novelty.fit.valScores, novelty.nonfish)
      : auroc(cal.oodVal, scores);
  return {
    auroc: round(gating, 4),
    nonfish_unknown_rate: round(unknownOod / zs.length, 4),
    n_nonfish: zs.length,
    source: opts.oodDescription ?? (await describeDir(opts.oodDir!)),
  };
}

/** A folder's one-line `DESCRIPTION` file (scripts/fetch-nonfish.sh writes one), else its name. */
async function describeDir(dir: string): Promise<string> {
  const text = await readFile(join(dir, 'DESCRIPTION'), 'utf8').catch(() => '');
  return text.trim().split('\n')[0] || basename(resolve(dir));
}

/** Largest threshold (0.2-0.6) that rejects at most `maxReject` of the validation images. */
function pickConfidenceThreshold(conf: number[], maxReject: number): number {
  let best = 0.2;
  for (let t = 0.2; t <= 0.6001; t += 0.05)
    if (conf.filter((c) => c < t).length / conf.length <= maxReject) best = round(t, 2);
  return best;
}

/** Re-writes the card (e.g. after open-set metrics are added) from a manifest. */
export async function writeOutputs(
  opts: Pick<TrainOptions, 'outDir' | 'task' | 'dataDir'>,
  manifest: Manifest,
  head: Uint8Array,
  prototypes: Parameters<typeof writeArtifact>[3],
  cm: number[][],
  /** Values of `manifest.files.novelty`, when the model has the check. */
  novelty?: Float32Array,
): Promise<void> {
  const f4k =
    opts.task === 'species' && /fish-species|f4k|fish4knowledge/i.test(resolve(opts.dataDir));
  await writeArtifact(
    opts.outDir,
    manifest,
    head,
    prototypes,
    {
      [manifest.files.card]: modelCard(manifest, { f4k }),
      [manifest.files.confusion]: confusionSvg(
        cm,
        manifest.labels,
        manifest.labels,
        `${manifest.name} v${manifest.version}: validation confusion (rows: true)`,
      ),
    },
    novelty,
  );
}
