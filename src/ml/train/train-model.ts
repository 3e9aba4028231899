// `trainModel`: image folders → a complete model artefact directory (see artifact/manifest.ts).
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { BackbonePool } from '../backbone/session.ts';
import { hasTap, parseBackboneId, parseTap } from '../backbone/specs.ts';
import { fingerprint, groupedSplit, listImageFolder, sha256File } from '../data/dataset.ts';
import type { ImageItem } from '../data/dataset.ts';
import { embedItems } from '../embed/embedder.ts';
import { auroc, computeMetrics } from '../evaluate/metrics.ts';
import { listImagesRecursive } from '../evaluate/evaluate-model.ts';
import { fitPrototypes, oodScore, openSetFeatures, openSetSpace, quantile } from '../openset.ts';
import { DEFAULT_PREPROCESS } from '../preprocess.ts';
import { confusionSvg } from '../artifact/confusion-svg.ts';
import { modelCard } from '../artifact/card.ts';
import { MANIFEST_FORMAT } from '../artifact/manifest.ts';
import type { Manifest } from '../artifact/manifest.ts';
import { packHead, writeArtifact } from '../artifact/store.ts';
import { fitTemperature } from './calibrate.ts';
import { fitHeads } from './fit-heads.ts';
import { argmax, headLogits, softmax } from './head.ts';
import { fitStandardizer, pack, standardize } from './standardize.ts';
import { DEFAULTS } from './defaults.ts';

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
}

export interface TrainResult {
  outDir: string;
  manifest: Manifest;
  embeddingSeconds: number;
  trainingSeconds: number;
}

const scientific = (label: string): string => {
  const s = label.replace(/-/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
};

export async function trainModel(opts: TrainOptions): Promise<TrainResult> {
  const seed = opts.seed ?? 42;
  const backboneId = opts.backbone ?? DEFAULTS[opts.task].backbone;
  const taps = opts.taps ?? DEFAULTS[opts.task].taps;
  const bspec = parseBackboneId(backboneId);
  for (const t of taps)
    if (!hasTap(bspec, t) || parseTap(t).pool.kind === 'raw')
      throw new Error(`backbone ${backboneId} has no tap ${t}`);
  const spec = { ...DEFAULT_PREPROCESS, ...DEFAULTS[opts.task].preprocess, size: bspec.inputSize };
  const progress = opts.onProgress ?? (() => undefined);

  progress({ phase: 'scan', message: `scanning ${opts.dataDir}` });
  const train = await listImageFolder(opts.dataDir);
  let trainItems: ImageItem[] = train.items;
  let valItems: ImageItem[];
  if (opts.valDir) valItems = (await listImageFolder(opts.valDir)).items;
  else ({ train: trainItems, val: valItems } = groupedSplit(train.items, 0.2, seed));
  const labels = train.labels;
  const yOf = (items: ImageItem[]): Int32Array =>
    Int32Array.from(items.map((i) => labels.indexOf(i.label)));
  if (labels.length < 2) throw new Error('need at least two class folders');

  const ownPool = !opts.backbones;
  const pool = opts.backbones ?? new BackbonePool(opts.storeDir ?? join(opts.cacheDir, 'store'));
  const t0 = performance.now();
  let tr, va, oo;
  const oodItems: ImageItem[] = opts.oodDir
    ? await Promise.all(
        (await listImagesRecursive(opts.oodDir)).map(async (path) => ({
          path,
          label: '',
          sha256: await sha256File(path),
        })),
      )
    : [];
  try {
    const session = await pool.get(backboneId, taps);
    const total = trainItems.length + valItems.length;
    const common = { session, spec, taps, flip: true, cacheDir: opts.cacheDir };
    tr = await embedItems(trainItems, {
      ...common,
      onProgress: (d) => progress({ phase: 'embed', done: d, total }),
    });
    va = await embedItems(valItems, {
      ...common,
      onProgress: (d) => progress({ phase: 'embed', done: trainItems.length + d, total }),
    });
    if (oodItems.length) oo = await embedItems(oodItems, { ...common, flip: false });
  } finally {
    if (ownPool) await pool.close();
  }
  const embeddingSeconds = (performance.now() - t0) / 1000;

  const t1 = performance.now();
  const ytr = yOf(trainItems);
  const yva = yOf(valItems);
  const rows = [...tr.original, ...tr.flipped!];
  const st = fitStandardizer(rows);
  const X = pack(rows.map((r) => standardize(st, r)));
  const yAug = Int32Array.from([...ytr, ...ytr]);
  const vO = va.original.map((r) => standardize(st, r));
  const vF = va.flipped!.map((r) => standardize(st, r));
  const hp = DEFAULTS[opts.task].hyper;
  const { best, candidates } = await fitHeads(X, yAug, vO, yva, labels, {
    l2Grid: hp.l2Grid,
    mlp: hp.mlp,
    seed,
    maxIter: hp.maxIter,
    onProgress: (message) => progress({ phase: 'fit', message }),
  });

  progress({ phase: 'calibrate' });
  const flipTta = opts.flipTta ?? DEFAULTS[opts.task].flipTta;
  const logits = vO.map((x, i) => {
    const a = headLogits(best.head, x);
    if (!flipTta) return a;
    const b = headLogits(best.head, vF[i]);
    return a.map((v, j) => (v + b[j]) / 2);
  });
  const T = fitTemperature(logits, yva);
  const probs = logits.map((l) => softmax(l, T));
  const perClass = hp.prototypesPerClass;
  // Open-set prototypes live in the raw (unstandardised) feature space: measured AUROC 0.99 vs
  // 0.95 after standardisation, which inflates near-constant dimensions (docs/model-research.md).
  const space = openSetSpace(taps);
  const osf = (r: Float32Array): Float32Array => openSetFeatures(r, taps, bspec.width, space);
  const prototypes = fitPrototypes(rows.map(osf), yAug, labels.length, perClass, seed);
  const oodVal = va.original.map((x) => oodScore(prototypes, osf(x)));
  const oodThreshold = quantile(oodVal, hp.oodQuantile);
  const conf = probs.map((p) => p[argmax(p)]);
  const confThreshold = pickConfidenceThreshold(conf, hp.maxConfidenceRejection);
  const unknown =
    conf.filter((c, i) => c < confThreshold || oodVal[i] < oodThreshold).length / conf.length;
  const metrics = computeMetrics(yva, probs, labels);
  let ood: Manifest['metrics']['ood'];
  if (oo) {
    const zs = oo.original.map((r) => standardize(st, r));
    const scores = oo.original.map((r) => oodScore(prototypes, osf(r)));
    const unknownOod = zs.filter((z, i) => {
      const p = softmax(headLogits(best.head, z), T);
      return scores[i] < oodThreshold || p[argmax(p)] < confThreshold;
    }).length;
    ood = {
      auroc: round(auroc(oodVal, scores), 4),
      nonfish_unknown_rate: round(unknownOod / zs.length, 4),
      n_nonfish: zs.length,
      source: opts.oodDescription ?? (await describeDir(opts.oodDir!)),
    };
  }
  const trainingSeconds = (performance.now() - t1) / 1000;

  const packed = packHead({ standardizer: st, head: best.head, prototypes });
  const perClassTrain: Record<string, number> = {};
  for (const l of labels) perClassTrain[l] = trainItems.filter((i) => i.label === l).length;
  const deciles = (a: number[]): number[] =>
    Array.from({ length: 9 }, (_, i) => quantile(a, (i + 1) / 10));
  const manifest: Manifest = {
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
      id: backboneId,
      width: bspec.width / 100,
      input_size: bspec.inputSize,
      taps,
      feature_dim: tr.dim,
    },
    preprocessing: {
      ...spec,
      color: 'rgb',
      layout: 'nhwc',
      exif_orientation: true,
      alpha: 'flatten-black',
    },
    training: {
      data: basename(resolve(opts.dataDir)),
      val: opts.valDir
        ? basename(resolve(opts.valDir))
        : `grouped split of ${basename(resolve(opts.dataDir))} (20 %, seed ${seed})`,
      fingerprint: fingerprint(trainItems),
      val_fingerprint: fingerprint(valItems),
      n_train: trainItems.length,
      n_val: valItems.length,
      per_class_train: perClassTrain,
      flip_augment: true,
      seed,
    },
    head: {
      kind: best.kind,
      hidden: best.kind === 'mlp' && hp.mlp ? hp.mlp.hidden : undefined,
      candidates: candidates.map((c) => ({
        kind: c.kind,
        l2: c.l2,
        val_accuracy: round(c.val_accuracy, 4),
        val_macro_f1: round(c.val_macro_f1, 4),
        val_nll: round(c.val_nll, 4),
        val_ece: round(c.val_ece, 4),
      })),
    },
    hyperparameters: {
      l2: best.l2,
      l2_grid: hp.l2Grid.join(','),
      class_weighting: 'balanced',
      std_floor: '0.1 x median std',
      optimizer: best.kind === 'mlp' ? 'adam' : 'lbfgs',
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
    },
    calibration: { method: 'temperature', temperature: round(T, 6) },
    open_set: {
      method: 'max-cosine-prototypes',
      feature_space: space,
      prototypes: prototypes.classes.length,
      per_class: perClass,
      threshold: round(oodThreshold, 6),
      val_quantile: hp.oodQuantile,
    },
    confidence_threshold: confThreshold,
    metrics: {
      val: {
        accuracy: round(metrics.accuracy, 4),
        macro_f1: round(metrics.macro_f1, 4),
        ece: round(metrics.ece, 4),
        n: metrics.n,
        unknown_rate: round(unknown, 4),
      },
      per_class: Object.fromEntries(
        Object.entries(metrics.per_class).map(([l, c]) => [
          l,
          {
            precision: round(c.precision, 4),
            recall: round(c.recall, 4),
            f1: round(c.f1, 4),
            support: c.support,
          },
        ]),
      ),
      ...(ood ? { ood } : {}),
    },
    reference: {
      confidence_deciles: deciles(conf).map((v) => round(v, 4)),
      ood_score_deciles: deciles(oodVal).map((v) => round(v, 4)),
      feature_norm_deciles: deciles(vO.map((x) => Math.hypot(...x))).map((v) => round(v, 3)),
    },
    batching: { max_batch_size: 32, max_queue_delay_ms: 4 },
    options: { flip_tta: flipTta },
    files: {
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
      card: 'MODEL_CARD.md',
      confusion: 'confusion.svg',
    },
    created_at: opts.createdAt ?? new Date().toISOString(),
  };
  progress({ phase: 'write', message: opts.outDir });
  await writeOutputs(opts, manifest, packed.bytes, prototypes, metrics.confusion_matrix);
  return { outDir: opts.outDir, manifest, embeddingSeconds, trainingSeconds };
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
): Promise<void> {
  const f4k =
    opts.task === 'species' && /fish-species|f4k|fish4knowledge/i.test(resolve(opts.dataDir));
  await writeArtifact(opts.outDir, manifest, head, prototypes, {
    [manifest.files.card]: modelCard(manifest, { f4k }),
    [manifest.files.confusion]: confusionSvg(
      cm,
      manifest.labels,
      manifest.labels,
      `${manifest.name} v${manifest.version}: validation confusion (rows: true)`,
    ),
  });
}

function round(v: number, d: number): number {
  const f = 10 ** d;
  return Math.round(v * f) / f;
}
