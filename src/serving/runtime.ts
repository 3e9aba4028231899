import { DEFAULT_BATCHING, type Manifest } from '../ml/artifact/manifest.ts';
import type { Logger } from '../logger.ts';
import type { ModelStore } from '../infra/store/types.ts';
import type { Metrics } from '../observability/metrics.ts';
import { type BatchingPolicy, DynamicBatcher } from './batcher.ts';
import type { ModelCatalog } from './catalog.ts';
import type { InferenceEngine } from './engine/engine.ts';
import type { TrafficRouter, VersionRef } from './router.ts';
import type { ServingStats } from './stats.ts';

export interface LoadedModel {
  key: string;
  name: string;
  version: number;
  manifest: Manifest;
  batcher: DynamicBatcher;
}

export class ModelUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelUnavailableError';
  }
}

export interface RuntimeOptions {
  /** Overrides of the manifests' batching settings (ops can tune without retraining). */
  maxBatchSize?: number;
  maxQueueDelayMs?: number;
  maxQueueSize: number;
}

export interface ModelRuntimeDeps {
  catalog: ModelCatalog;
  store: ModelStore;
  engine: InferenceEngine;
  router: TrafficRouter;
  stats: ServingStats;
  metrics: Metrics;
  logger: Logger;
  options: RuntimeOptions;
}

export const keyOf = (ref: VersionRef) => `${ref.name}@${ref.version}`;

/**
 * The model versions this process serves: each loaded once into the inference engine, with its own
 * dynamic batcher. Versions named by a route (champion, challenger, shadow) are loaded ahead of traffic.
 */
export class ModelRuntime {
  private readonly models = new Map<string, Promise<LoadedModel>>();
  private readonly catalog: ModelCatalog;
  private readonly store: ModelStore;
  private readonly engine: InferenceEngine;
  private readonly router: TrafficRouter;
  private readonly stats: ServingStats;
  private readonly metrics: Metrics;
  private readonly logger: Logger;
  private readonly options: RuntimeOptions;

  constructor(deps: ModelRuntimeDeps) {
    ({
      catalog: this.catalog,
      store: this.store,
      engine: this.engine,
      router: this.router,
      stats: this.stats,
      metrics: this.metrics,
      logger: this.logger,
      options: this.options,
    } = deps);
  }

  policyFor(manifest: Manifest): BatchingPolicy {
    return {
      maxBatchSize:
        this.options.maxBatchSize ??
        manifest.batching?.max_batch_size ??
        DEFAULT_BATCHING.max_batch_size,
      maxQueueDelayMs:
        this.options.maxQueueDelayMs ??
        manifest.batching?.max_queue_delay_ms ??
        DEFAULT_BATCHING.max_queue_delay_ms,
      maxQueueSize: this.options.maxQueueSize,
    };
  }

  /** The loaded model for a version, loading it on first use. */
  get(ref: VersionRef): Promise<LoadedModel> {
    const key = keyOf(ref);
    let model = this.models.get(key);
    if (!model) {
      model = this.load(ref);
      this.models.set(key, model);
      model.catch(() => this.models.delete(key));
    }
    return model;
  }

  private async load(ref: VersionRef): Promise<LoadedModel> {
    const key = keyOf(ref);
    const row = await this.catalog.get(ref.name, ref.version);
    if (!row) throw new ModelUnavailableError(`no model ${key}`);
    if (row.status === 'archived') throw new ModelUnavailableError(`${key} is archived`);
    const started = performance.now();
    const dir = await this.store.localDir(ref.name, ref.version).catch((err: Error) => {
      // Registered in the database but absent here: a store that is not shared between processes.
      throw new ModelUnavailableError(
        `the files of ${key} are not in the model store (${err.message})`,
      );
    });
    const manifest = await this.engine.load(key, dir);
    const labels = { model: ref.name, version: String(ref.version) };
    const stats = this.stats.of(ref.name, ref.version);
    const batcher = new DynamicBatcher(
      this.policyFor(manifest),
      (inputs) => this.engine.predict(key, inputs),
      {
        batch: (size) => {
          this.metrics.batchSize.observe(labels, size);
          stats.batchSizes.record(size);
        },
        queued: (ms) => {
          this.metrics.queueWait.observe(labels, ms / 1000);
          stats.queueMs.record(ms);
        },
        rejected: () => this.metrics.rejected.inc(labels),
      },
    );
    this.logger.info(
      { model: key, load_ms: Math.round(performance.now() - started) },
      'model loaded',
    );
    return { key, name: ref.name, version: ref.version, manifest, batcher };
  }

  /** Loads every version a route can send traffic to (all models, or one after a change). */
  async preload(name?: string): Promise<void> {
    const names = name ? [name] : await this.catalog.servedNames();
    for (const n of names) {
      this.router.invalidate(n);
      try {
        const route = await this.router.route(n);
        const versions = [
          ...route.split.map((s) => s.version),
          ...(route.shadow ? [route.shadow.version] : []),
        ];
        await Promise.all([...new Set(versions)].map((version) => this.get({ name: n, version })));
      } catch (err) {
        this.logger.error({ err, model: n }, 'could not load the served versions of a model');
      }
    }
  }

  /**
   * Unloads the loaded versions of a model that were archived: an archived version is never
   * served again, so it must not hold memory in the inference thread. Requests it already
   * accepted are answered first.
   */
  async unloadArchived(name: string): Promise<string[]> {
    const unloaded: string[] = [];
    for (const [key, pending] of [...this.models]) {
      if (!key.startsWith(`${name}@`)) continue;
      const model = await pending.catch(() => undefined);
      if (!model) continue;
      const row = await this.catalog.get(model.name, model.version);
      if (row && row.status !== 'archived') continue;
      this.models.delete(key);
      await model.batcher.drain();
      await this.engine.unload(key);
      this.logger.info({ model: key }, 'archived model version unloaded');
      unloaded.push(key);
    }
    return unloaded;
  }

  loaded(): string[] {
    return [...this.models.keys()];
  }

  async loadedModels(): Promise<LoadedModel[]> {
    const settled = await Promise.allSettled(this.models.values());
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  }

  /** Waits until every batcher is empty: no accepted request is dropped on shutdown. */
  async drain(): Promise<void> {
    await Promise.all((await this.loadedModels()).map((m) => m.batcher.drain()));
  }

  async stop(): Promise<void> {
    await this.drain();
    await this.engine.stop();
  }
}
