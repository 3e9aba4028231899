import type { BackbonePrecision } from '../../ml/backbone/quantize.ts';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppConfig } from '../../config.ts';
import type { Database } from '../../db/client.ts';
import type { KeptImages } from '../../infra/images/kept-images.ts';
import type { ModelStore } from '../../infra/store/types.ts';
import type { Manifest } from '../../ml/artifact/manifest.ts';
import { checkImageFolderLayout, DatasetLayoutError } from '../../ml/data/dataset.ts';
import { readManifest, writeManifest } from '../models/manifest.ts';
import { type Alias, type ModelRegistry, RegistryError } from '../models/registry.ts';
import { PermanentTaskError, type TaskContext, type TaskHandler } from '../tasks/runner.ts';
import { feedbackForRetraining } from './feedback.ts';
import { evaluateInThread, trainInThread, type TrainOutcome } from './ml-job.ts';
import { DataSourceError, describeSource, resolveSource } from './sources.ts';

export const TRAIN_TASK = 'model.train';
export const RETRAIN_TASK = 'model.retrain';
export const EVALUATE_TASK = 'model.evaluate';

export interface TrainingDeps {
  config: AppConfig;
  db: Database;
  registry: ModelRegistry;
  store: ModelStore;
  images: () => KeptImages | undefined;
}

export interface TrainPayload {
  task: 'species' | 'health';
  data_dir: string;
  val_dir?: string;
  name: string;
  backbone?: string;
  taps?: string[];
  seed?: number;
  flip_tta?: boolean;
  alias?: Alias;
  user_id?: string | null;
}

export interface RetrainPayload {
  name: string;
  base?: string;
  data_dir?: string;
  val_dir?: string;
  /** Also learn from viewers' labels (off: operators' and admins' only). */
  include_viewer_feedback?: boolean;
  user_id?: string | null;
}

export interface EvaluatePayload {
  model: string;
  data_dir: string;
  ood_dir?: string;
}

/** Bad payloads (unknown folder, unknown model) fail at once instead of being retried. */
async function permanent<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (
      err instanceof DataSourceError ||
      err instanceof RegistryError ||
      err instanceof DatasetLayoutError
    )
      throw new PermanentTaskError(err.message);
    throw err;
  }
}

/** Maps training phases onto one 0..1 progress figure. */
function reporter(ctx: TaskContext) {
  const base: Record<string, [number, number]> = {
    scan: [0, 0.02],
    embed: [0.02, 0.8],
    fit: [0.8, 0.9],
    calibrate: [0.9, 0.95],
    write: [0.95, 0.99],
    evaluate: [0, 0.99],
  };
  return (p: { phase: string; done?: number; total?: number; message?: string }) => {
    const [from, to] = base[p.phase] ?? [0, 0];
    const f = p.total ? from + ((to - from) * (p.done ?? 0)) / p.total : from;
    // Cancellation arrives through ctx.signal, which stops the thread; a rejected write is harmless here.
    ctx.progress(f, p.message ?? p.phase).catch(() => {});
  };
}

function extensionOf(bytes: Buffer): string | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'jpg';
  if (bytes[0] === 0x89 && bytes[1] === 0x50) return 'png';
  if (
    bytes.subarray(0, 4).toString('latin1') === 'RIFF' &&
    bytes.subarray(8, 12).toString('latin1') === 'WEBP'
  )
    return 'webp';
  if (bytes.subarray(0, 3).toString('latin1') === 'GIF') return 'gif';
  return undefined;
}

/** Trains, records where the data came from, and registers the artefact as the next version. */
async function trainAndRegister(
  deps: TrainingDeps,
  ctx: TaskContext,
  options: {
    task: 'species' | 'health';
    dataDir: string;
    valDir?: string;
    name: string;
    backbone?: string;
    taps?: string[];
    seed?: number;
    flipTta?: boolean;
    /** A retrained model keeps its backbone precision. */
    precision?: BackbonePrecision;
    alias?: Alias;
    source: 'trained' | 'retrained';
    recordedData: { train: string; val?: string };
    userId?: string | null;
  },
): Promise<{ outcome: TrainOutcome; version: number; aliases: string[] }> {
  const { config, registry } = deps;
  const version = await permanent(registry.nextVersion(options.name));
  const staging = await mkdtemp(join(config.dataDir, '.train-'));
  try {
    const outcome = await trainInThread(
      config.models.storeDir,
      config.models.backboneThreads,
      {
        task: options.task,
        dataDir: options.dataDir,
        valDir: options.valDir,
        name: options.name,
        version,
        backbone: options.backbone,
        taps: options.taps,
        seed: options.seed,
        flipTta: options.flipTta,
        precision: options.precision,
        outDir: join(staging, 'artefact'),
        cacheDir: join(config.dataDir, 'cache', 'embeddings'),
      },
      reporter(ctx),
      ctx.signal,
    );
    const manifest = await readManifest(outcome.outDir);
    (manifest.training as Record<string, unknown>).source = options.recordedData;
    await writeManifest(outcome.outDir, manifest);
    const row = await registry.register({
      fromDir: outcome.outDir,
      name: options.name,
      version,
      source: options.source,
      alias: options.alias,
      actor: { userId: options.userId ?? null, name: `task:${ctx.taskId}` },
    });
    const aliases = (await registry.aliases(row.name))
      .filter((a) => a.version === row.version)
      .map((a) => a.alias);
    return { outcome, version: row.version, aliases };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

export function trainHandler(deps: TrainingDeps): TaskHandler<TrainPayload> {
  return async (p, ctx) => {
    const roots = deps.config.trainingDataRoots;
    const dataDir = await permanent(resolveSource(p.data_dir, roots));
    const valDir = p.val_dir ? await permanent(resolveSource(p.val_dir, roots)) : undefined;
    await permanent(checkImageFolderLayout(dataDir, p.data_dir, 2));
    if (valDir && p.val_dir) await permanent(checkImageFolderLayout(valDir, p.val_dir, 1));
    const { outcome, version, aliases } = await trainAndRegister(deps, ctx, {
      task: p.task,
      dataDir,
      valDir,
      name: p.name,
      backbone: p.backbone,
      taps: p.taps,
      seed: p.seed,
      flipTta: p.flip_tta,
      alias: p.alias,
      source: 'trained',
      recordedData: {
        train: describeSource(dataDir, roots),
        val: valDir && describeSource(valDir, roots),
      },
      userId: p.user_id,
    });
    return {
      model: { name: p.name, version, aliases },
      metrics: outcome.manifest.metrics.val,
      open_set: outcome.manifest.metrics.ood ?? null,
      embedding_seconds: outcome.embeddingSeconds,
      training_seconds: outcome.trainingSeconds,
    };
  };
}

/**
 * Retrains a model on its original data plus the images operators labelled through feedback,
 * validates on the original validation data, and registers the result as challenger.
 */
export function retrainHandler(deps: TrainingDeps): TaskHandler<RetrainPayload> {
  return async (p, ctx) => {
    const { config, db, registry } = deps;
    const roots = config.trainingDataRoots;
    const base = await permanent(
      registry.resolve({ name: p.name, selector: p.base ?? 'champion' }),
    );
    const manifest = base.manifest as unknown as Manifest & {
      training: { source?: { train?: string; val?: string } };
    };
    const recorded = manifest.training?.source ?? {};
    const train = p.data_dir ?? recorded.train;
    if (!train) {
      throw new PermanentTaskError(
        `${base.name}@${base.version} does not record its training data; give data_dir`,
      );
    }
    const dataDir = await permanent(resolveSource(train, roots));
    const val = p.val_dir ?? recorded.val;
    const valDir = val ? await permanent(resolveSource(val, roots)) : undefined;

    // The latest trusted feedback label per image: the model's labels, and new classes.
    const { labels: feedback, summary } = await feedbackForRetraining(
      db,
      base.name,
      manifest.labels,
      p.include_viewer_feedback === true,
    );

    const merged = await mkdtemp(join(config.dataDir, '.retrain-data-'));
    try {
      let used = 0;
      let missing = 0;
      for (const label of [...manifest.labels, ...Object.keys(summary.new_classes)]) {
        await mkdir(join(merged, label), { recursive: true });
        const files = await readdir(join(dataDir, label)).catch(() => [] as string[]);
        for (const f of files) await symlink(join(dataDir, label, f), join(merged, label, f));
      }
      const images = deps.images();
      for (const [sha, label] of feedback) {
        const bytes = await images?.read(sha);
        const ext = bytes && extensionOf(bytes);
        if (!bytes || !ext) {
          missing += 1;
          continue;
        }
        await writeFile(join(merged, label, `feedback-${sha}.${ext}`), bytes);
        used += 1;
      }
      if (!used) {
        throw new PermanentTaskError(
          `no feedback images to add for ${base.name} (${feedback.size} labelled predictions from trusted roles, ${missing} without a kept image, ${summary.untrusted_ignored} labels from untrusted roles ignored)`,
        );
      }
      const { outcome, version, aliases } = await trainAndRegister(deps, ctx, {
        task: manifest.task,
        dataDir: merged,
        valDir,
        name: base.name,
        backbone: manifest.backbone.id,
        taps: manifest.backbone.taps,
        seed: manifest.training.seed,
        flipTta: manifest.options?.flip_tta,
        precision: manifest.backbone.precision,
        alias: 'challenger',
        source: 'retrained',
        recordedData: {
          train: describeSource(dataDir, roots),
          val: valDir && describeSource(valDir, roots),
        },
        userId: p.user_id,
      });
      return {
        model: { name: base.name, version, aliases },
        base: { version: base.version, metrics: manifest.metrics?.val ?? null },
        metrics: outcome.manifest.metrics.val,
        feedback: { ...summary, labelled: feedback.size, used, missing_images: missing },
      };
    } finally {
      await rm(merged, { recursive: true, force: true });
    }
  };
}

export function evaluateHandler(deps: TrainingDeps): TaskHandler<EvaluatePayload> {
  return async (p, ctx) => {
    const roots = deps.config.trainingDataRoots;
    const row = await permanent(deps.registry.resolve(p.model));
    const dataDir = await permanent(resolveSource(p.data_dir, roots));
    const oodDir = p.ood_dir ? await permanent(resolveSource(p.ood_dir, roots)) : undefined;
    const evaluation = await evaluateInThread(
      deps.config.models.storeDir,
      deps.config.models.backboneThreads,
      await deps.store.localDir(row.name, row.version),
      dataDir,
      oodDir,
      reporter(ctx),
      ctx.signal,
    );
    return {
      model: { name: row.name, version: row.version },
      data: describeSource(dataDir, roots),
      ...evaluation,
    };
  };
}
