import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AppConfig } from './config.ts';
import { type Database, type DatabaseHandle, openDatabase } from './db/client.ts';
import { RedisStreamsEventBus } from './infra/bus/redis-streams.ts';
import { MemoryEventBus } from './infra/bus/memory.ts';
import type { EventBus } from './infra/bus/types.ts';
import { BullmqJobQueue } from './infra/queue/bullmq.ts';
import { MemoryJobQueue } from './infra/queue/memory.ts';
import type { JobQueue } from './infra/queue/types.ts';
import { connectRedis } from './infra/redis.ts';
import { FsModelStore } from './infra/store/fs.ts';
import { S3ModelStore } from './infra/store/s3.ts';
import type { ModelStore } from './infra/store/types.ts';
import { createLogger, type Logger } from './logger.ts';
import { Metrics } from './observability/metrics.ts';
import { createServing, type Serving } from './serving/index.ts';
import { ApiKeyService } from './modules/api-keys/service.ts';
import { AuditLog } from './modules/audit/service.ts';
import { Authenticator } from './modules/auth/authenticator.ts';
import { AuthService } from './modules/auth/service.ts';
import { AccessTokens } from './modules/auth/tokens.ts';
import { HealthRegistry } from './modules/health/registry.ts';
import { PREDICT_TASK, predictTaskHandler } from './modules/inference/predict-task.ts';
import { ModelRegistry } from './modules/models/registry.ts';
import {
  EVALUATE_TASK,
  evaluateHandler,
  RETRAIN_TASK,
  retrainHandler,
  TRAIN_TASK,
  trainHandler,
} from './modules/training/tasks.ts';
import { seedSpecies } from './modules/species/seed.ts';
import { SpeciesService } from './modules/species/service.ts';
import { PURGE_TASK, purgeHandler } from './modules/tasks/purge.ts';
import { type TaskHandler, TaskRunner } from './modules/tasks/runner.ts';
import { TaskService } from './modules/tasks/service.ts';
import { ensureAdmin } from './modules/users/bootstrap.ts';
import { UserService } from './modules/users/service.ts';

/** What this process does: everything (serve), HTTP only (api), jobs only (worker), or a CLI command. */
export type ProcessRole = 'serve' | 'api' | 'worker' | 'cli';

export interface AppContext {
  readonly config: AppConfig;
  readonly role: ProcessRole;
  readonly version: string;
  readonly logger: Logger;
  readonly database: DatabaseHandle;
  readonly db: Database;
  readonly health: HealthRegistry;
  readonly bus: EventBus;
  readonly queue: JobQueue;
  readonly store: ModelStore;
  readonly audit: AuditLog;
  readonly users: UserService;
  readonly apiKeys: ApiKeyService;
  readonly tokens: AccessTokens;
  readonly auth: AuthService;
  readonly authenticator: Authenticator;
  readonly species: SpeciesService;
  readonly registry: ModelRegistry;
  readonly metrics: Metrics;
  /** Inference: model runtime, traffic router, classification, prediction storage. */
  readonly serving: Serving;
  /** Loads the served models (once); /ready waits for it. Called by the roles that serve. */
  startServing(): Promise<void>;
  /** Create, read and cancel background tasks. */
  readonly tasks: TaskService;
  /** The task handler registry; it runs tasks in the serve and worker roles. */
  readonly taskRunner: TaskRunner;
  /** A Redis client for shared rate-limit counters when REDIS_URL is set. */
  readonly rateLimitRedis: ReturnType<typeof connectRedis> | undefined;
  /** Stops everything this context started, in reverse order. */
  close(): Promise<void>;
}

export const VERSION: string = JSON.parse(
  readFileSync(resolve(import.meta.dirname, '..', 'package.json'), 'utf8'),
).version;

export interface CreateContextOptions {
  role: ProcessRole;
  logger?: Logger;
  /** Run migrations and seeds at start (the default; `aquaml migrate` does it explicitly). */
  migrate?: boolean;
  /** Extra task handlers by type, registered before the runner starts (tests, plugins). */
  taskHandlers?: Record<string, TaskHandler>;
  /** Run tasks in this process; by default in the serve and worker roles. */
  runTasks?: boolean;
}

/**
 * The composition root: picks the adapters named by the configuration (embedded or distributed),
 * wires the services, and owns the start and stop order.
 */
export async function createContext(
  config: AppConfig,
  options: CreateContextOptions,
): Promise<AppContext> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const health = new HealthRegistry();
  const stops: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const stop of stops.reverse()) {
      await stop().catch((err: unknown) => logger.error({ err }, 'error while stopping'));
    }
    stops.length = 0;
  };

  try {
    const migrated = health.waitFor('migrations');
    const database = await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
    });
    stops.push(() => database.close());
    health.register('database', async () => {
      await database.ping();
      return { status: 'ok', details: { kind: database.kind } };
    });
    if (options.migrate !== false) {
      await database.migrate();
      await seedSpecies(database.db);
      migrated();
    }
    const db = database.db;

    const bus: EventBus = config.redisUrl
      ? new RedisStreamsEventBus(config.redisUrl, logger, config.redisPrefix)
      : new MemoryEventBus(logger);
    stops.push(() => bus.close());
    health.register('event_bus', async () => {
      await bus.ping();
      return { status: 'ok', details: { kind: bus.kind } };
    });

    const queue: JobQueue = config.redisUrl
      ? new BullmqJobQueue(config.redisUrl, logger, {
          lockDurationMs: config.queue.lockDurationMs,
          backoffBaseMs: config.queue.backoffBaseMs,
          prefix: config.redisPrefix,
        })
      : new MemoryJobQueue(logger, { backoffBaseMs: config.queue.backoffBaseMs });
    stops.push(() => queue.close());
    health.register('queue', async () => {
      await queue.ping();
      return { status: 'ok', details: { kind: queue.kind, ...(await queue.depth()) } };
    });

    // An S3-compatible store when AQUAML_MODEL_STORE_URL is set; backbones stay local either way.
    const s3 = config.models.s3;
    const store: ModelStore = s3
      ? new S3ModelStore({ ...s3, backbonesDir: join(config.models.storeDir, 'backbones') })
      : new FsModelStore(config.models.storeDir);
    if (store instanceof S3ModelStore) stops.push(async () => store.close());
    health.register('model_store', async () => {
      await store.ping();
      return { status: 'ok', details: { kind: store.kind } };
    });

    const rateLimitRedis = config.redisUrl ? connectRedis(config.redisUrl) : undefined;
    if (rateLimitRedis) stops.push(async () => rateLimitRedis.disconnect());
    const audit = new AuditLog(db, logger);
    const users = new UserService(db);
    const apiKeys = new ApiKeyService(db);
    const tokens = new AccessTokens(
      config.jwt.secret,
      config.jwt.issuer,
      config.jwt.accessTtlSeconds,
    );
    const auth = new AuthService(db, users, tokens, audit, config.jwt.refreshTtlSeconds);
    const authenticator = new Authenticator(tokens, users, apiKeys);
    const species = new SpeciesService(db);
    const registry = new ModelRegistry(db, store, audit, bus);
    // The shipped models are registered on first use by every command, so a fresh clone classifies.
    if (options.migrate !== false) await registry.registerShipped(config.models.shippedDir);
    if (options.migrate !== false) await ensureAdmin(config, users, audit, logger);

    const metrics = new Metrics();
    const serving = createServing({ config, db, bus, store, registry, metrics, audit, logger });
    stops.push(() => serving.stop());
    const modelsLoaded = health.waitFor('models');
    let servingStarted: Promise<void> | undefined;
    const startServing = () =>
      (servingStarted ??= serving.start().then(modelsLoaded, (err: unknown) => {
        servingStarted = undefined;
        throw err;
      }));

    // Tasks. Register every handler here, before the runner starts taking jobs below.
    const taskRunner = new TaskRunner(db, queue, bus, logger.child({ component: 'tasks' }), {
      shutdownTimeoutMs: config.queue.shutdownTimeoutMs,
    });
    taskRunner.register(PURGE_TASK, purgeHandler(db));
    taskRunner.register(
      PREDICT_TASK,
      predictTaskHandler(db, () => serving.classifier),
    );
    const training = { config, db, registry, store, images: () => serving.images };
    taskRunner.register(TRAIN_TASK, trainHandler(training));
    taskRunner.register(RETRAIN_TASK, retrainHandler(training));
    taskRunner.register(EVALUATE_TASK, evaluateHandler(training));
    for (const [type, handler] of Object.entries(options.taskHandlers ?? {})) {
      taskRunner.register(type, handler);
    }
    const tasks = new TaskService(db, queue, bus, taskRunner, logger.child({ component: 'tasks' }));
    if (options.runTasks ?? (options.role === 'serve' || options.role === 'worker')) {
      // Pushed last, so close() stops the runner (finish or return running jobs) before the
      // queue, the bus and the database close.
      stops.push(() => taskRunner.stop());
      await taskRunner.start({ concurrency: config.queue.concurrency });
    } else if (options.role === 'api' && queue.kind === 'memory') {
      logger.warn('api role without REDIS_URL: tasks wait until a serve process recovers them');
    }

    return {
      config,
      role: options.role,
      version: VERSION,
      logger,
      database,
      db,
      health,
      bus,
      queue,
      store,
      audit,
      users,
      apiKeys,
      tokens,
      auth,
      authenticator,
      species,
      registry,
      metrics,
      serving,
      startServing,
      tasks,
      taskRunner,
      rateLimitRedis,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
