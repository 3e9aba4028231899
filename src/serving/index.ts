import { join } from 'node:path';
import type { AppConfig } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { EventBus } from '../infra/bus/types.ts';
import { MemoryCache } from '../infra/cache/memory.ts';
import { ImageArchive } from '../infra/images/archive.ts';
import { RedisCache } from '../infra/cache/redis.ts';
import { connectRedis } from '../infra/redis.ts';
import type { ModelStore } from '../infra/store/types.ts';
import type { Logger } from '../logger.ts';
import type { AuditLog } from '../modules/audit/service.ts';
import { MODELS_CHANGED, type ModelRegistry } from '../modules/models/registry.ts';
import { PredictionQueries } from '../modules/predictions/queries.ts';
import { ClassificationService } from '../modules/predictions/service.ts';
import { PredictionWriter } from '../modules/predictions/writer.ts';
import type { Metrics } from '../observability/metrics.ts';
import { DriftMonitor } from './drift-monitor.ts';
import { InferenceEngine } from './engine/engine.ts';
import { TrafficRouter } from './router.ts';
import { ModelRuntime } from './runtime.ts';
import { ServingStats } from './stats.ts';
import { TrafficService } from './traffic.ts';

export interface Serving {
  readonly runtime: ModelRuntime;
  readonly router: TrafficRouter;
  readonly classifier: ClassificationService;
  readonly writer: PredictionWriter;
  readonly queries: PredictionQueries;
  readonly stats: ServingStats;
  /** Classified images kept for retraining (undefined when AQUAML_KEEP_IMAGES=false). */
  readonly images: ImageArchive | undefined;
  readonly traffic: TrafficService;
  readonly drift: DriftMonitor;
  readonly cacheKind: 'memory' | 'redis' | 'off';
  /** Loads the served versions and follows model changes announced on the bus. */
  start(): Promise<void>;
  /** Drains the batchers, stores buffered predictions, stops the inference thread. */
  stop(): Promise<void>;
}

export interface ServingDeps {
  config: AppConfig;
  db: Database;
  bus: EventBus;
  store: ModelStore;
  registry: ModelRegistry;
  metrics: Metrics;
  audit: AuditLog;
  logger: Logger;
}

export function createServing(deps: ServingDeps): Serving {
  const { config, db, bus, store, registry, metrics, audit, logger } = deps;
  const s = config.serving;
  const engine = new InferenceEngine(
    { storeDir: config.models.storeDir, intraOpThreads: s.inferenceThreads },
    logger.child({ component: 'inference' }),
  );
  const router = new TrafficRouter(db, registry);
  const stats = new ServingStats();
  const runtime = new ModelRuntime(registry, store, engine, router, stats, metrics, logger, {
    maxBatchSize: s.maxBatchSize,
    maxQueueDelayMs: s.maxQueueDelayMs,
    maxQueueSize: s.maxQueueSize,
  });
  const redis = s.cacheEnabled && config.redisUrl ? connectRedis(config.redisUrl) : undefined;
  const cache = !s.cacheEnabled
    ? undefined
    : redis
      ? new RedisCache<never>(redis, `${config.redisPrefix}:pred:`, s.cacheTtlSeconds)
      : new MemoryCache<never>(s.cacheEntries, s.cacheTtlSeconds * 1000);
  const writer = new PredictionWriter(db, logger);
  const images = s.keepImages
    ? new ImageArchive(join(config.dataDir, 'images'), logger)
    : undefined;
  const queries = new PredictionQueries(db);
  const classifier = new ClassificationService(
    runtime,
    router,
    registry,
    cache,
    writer,
    stats,
    metrics,
    logger,
    {
      defaultModel: s.defaultModel,
      healthModel: s.healthModel,
      limits: { maxBytes: config.uploads.maxBytes, maxPixels: config.uploads.maxPixels },
    },
    images,
  );
  const traffic = new TrafficService(db, registry, audit, bus);
  const drift = new DriftMonitor(
    db,
    runtime,
    stats,
    bus,
    metrics,
    logger,
    {
      threshold: s.driftPsiThreshold,
      minSamples: s.driftMinSamples,
      cooldownMs: 3_600_000,
      accuracyDrop: s.accuracyDropAlert,
      minFeedback: s.accuracyMinFeedback,
      feedbackWindowMs: s.feedbackWindowDays * 86_400_000,
    },
    (since) => queries.feedbackAccuracy(since),
  );
  let unsubscribe: (() => void) | undefined;

  return {
    runtime,
    router,
    classifier,
    writer,
    queries,
    stats,
    images,
    traffic,
    drift,
    cacheKind: cache?.kind ?? 'off',
    async start() {
      unsubscribe = await bus.subscribe<{ name: string }>(MODELS_CHANGED, async ({ name }) => {
        router.invalidate(name);
        classifier.invalidate(name);
        await runtime.preload(name);
      });
      await runtime.preload();
      drift.start(s.driftIntervalMs);
    },
    async stop() {
      unsubscribe?.();
      drift.stop();
      await runtime.stop();
      await writer.flush();
      redis?.disconnect();
    },
  };
}
