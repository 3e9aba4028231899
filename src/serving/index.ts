import { join } from 'node:path';
import type { AppConfig } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { EventBus } from '../infra/bus/types.ts';
import { MemoryCache } from '../infra/cache/memory.ts';
import { RedisCache } from '../infra/cache/redis.ts';
import { KeptImages } from '../infra/images/kept-images.ts';
import { ImageRetention } from '../infra/images/retention.ts';
import { connectRedis } from '../infra/redis.ts';
import type { ModelStore } from '../infra/store/types.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ModelCatalog } from './catalog.ts';
import { ClassificationService, type PredictionSink } from './classification.ts';
import { type AccuracyReport, DriftMonitor } from './drift-monitor.ts';
import { InferenceEngine } from './engine/engine.ts';
import { type CachedPrediction, ImageInference } from './image-inference.ts';
import { TrafficRouter, type TrafficSettings } from './router.ts';
import { ModelRuntime } from './runtime.ts';
import { ServingStats } from './stats.ts';

export interface Serving {
  readonly runtime: ModelRuntime;
  readonly router: TrafficRouter;
  readonly classifier: ClassificationService;
  readonly stats: ServingStats;
  /** Classified images kept for retraining (undefined when AQUAML_KEEP_IMAGES=false). */
  readonly images: KeptImages | undefined;
  /** Deletes kept images past their retention, on a schedule once serving starts. */
  readonly retention: ImageRetention | undefined;
  readonly drift: DriftMonitor;
  readonly cacheKind: 'memory' | 'redis' | 'off';
  /** Loads the served versions and follows model changes announced by the catalog. */
  start(): Promise<void>;
  /** Drains the batchers (their requests are answered and handed to the sink), stops the engine. */
  stop(): Promise<void>;
}

/** What serving is given by the composition root: adapters, and the modules' side of its interfaces. */
export interface ServingDeps {
  config: AppConfig;
  db: Database;
  bus: EventBus;
  store: ModelStore;
  /** The registered models (modules/models). */
  catalog: ModelCatalog;
  /** The models' traffic splits (modules/models). */
  traffic: TrafficSettings;
  /** Where classified images are stored (modules/predictions). */
  sink: PredictionSink;
  /** Rolling accuracy from operator feedback since a time (modules/predictions). */
  feedbackAccuracy: (since: Date) => Promise<AccuracyReport[]>;
  metrics: Metrics;
  logger: Logger;
}

export function createServing(deps: ServingDeps): Serving {
  const { config, db, bus, store, catalog, metrics, logger } = deps;
  const s = config.serving;
  const engine = new InferenceEngine(
    { storeDir: config.models.storeDir, intraOpThreads: s.inferenceThreads },
    logger.child({ component: 'inference' }),
  );
  const router = new TrafficRouter(catalog, deps.traffic);
  const stats = new ServingStats();
  const runtime = new ModelRuntime({
    catalog,
    store,
    engine,
    router,
    stats,
    metrics,
    logger,
    options: {
      maxBatchSize: s.maxBatchSize,
      maxQueueDelayMs: s.maxQueueDelayMs,
      maxQueueSize: s.maxQueueSize,
    },
  });
  const redis = s.cacheEnabled && config.redisUrl ? connectRedis(config.redisUrl) : undefined;
  const cache = !s.cacheEnabled
    ? undefined
    : redis
      ? new RedisCache<CachedPrediction>(redis, `${config.redisPrefix}:pred:`, s.cacheTtlSeconds)
      : new MemoryCache<CachedPrediction>(s.cacheEntries, s.cacheTtlSeconds * 1000);
  const images = s.keepImages ? new KeptImages(join(config.dataDir, 'images'), logger) : undefined;
  // Kept images older than AQUAML_IMAGE_RETENTION_DAYS are deleted hourly by the processes that
  // keep them (api, serve): they live in this process's data dir.
  const retention = images
    ? new ImageRetention(images, s.imageRetentionDays, logger.child({ component: 'images' }))
    : undefined;
  const inference = new ImageInference(runtime, cache, stats, metrics, {
    maxBytes: config.uploads.maxBytes,
    maxPixels: config.uploads.maxPixels,
  });
  const classifier = new ClassificationService({
    catalog,
    router,
    inference,
    sink: deps.sink,
    stats,
    metrics,
    logger,
    options: { defaultModel: s.defaultModel, healthModel: s.healthModel },
    keptImages: images,
  });
  const drift = new DriftMonitor({
    db,
    runtime,
    stats,
    bus,
    metrics,
    logger,
    options: {
      threshold: s.driftPsiThreshold,
      minSamples: s.driftMinSamples,
      cooldownMs: 3_600_000,
      accuracyDrop: s.accuracyDropAlert,
      minFeedback: s.accuracyMinFeedback,
      feedbackWindowMs: s.feedbackWindowDays * 86_400_000,
    },
    feedbackAccuracy: deps.feedbackAccuracy,
  });
  let unsubscribe: (() => void) | undefined;

  return {
    runtime,
    router,
    classifier,
    stats,
    images,
    retention,
    drift,
    cacheKind: inference.cacheKind,
    async start() {
      unsubscribe = await catalog.onChange(async (name) => {
        router.invalidate(name);
        classifier.invalidate(name);
        await runtime.preload(name);
        await runtime.unloadArchived(name);
      });
      await runtime.preload();
      drift.start(s.driftIntervalMs);
      retention?.start();
    },
    async stop() {
      unsubscribe?.();
      drift.stop();
      retention?.stop();
      await runtime.stop();
      redis?.disconnect();
    },
  };
}
