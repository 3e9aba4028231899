import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type AppConfig, DEV_JWT_SECRET } from './config.ts';
import { openDatabase } from './db/client.ts';
import { RedisStreamsEventBus } from './infra/bus/redis-streams.ts';
import { FallbackExpiringStore } from './infra/expiring/fallback.ts';
import { MemoryExpiringStore } from './infra/expiring/memory.ts';
import { RedisExpiringStore } from './infra/expiring/redis.ts';
import type { ExpiringStore } from './infra/expiring/types.ts';
import { MemoryEventBus } from './infra/bus/memory.ts';
import { PostgresLease } from './infra/lease/postgres.ts';
import { SoleProcessLease } from './infra/lease/process.ts';
import { RedisLease } from './infra/lease/redis.ts';
import type { Lease } from './infra/lease/types.ts';
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
import { PerformanceWindow } from './observability/performance.ts';
import { createServing } from './serving/index.ts';
import type { AppServices, ProcessRole } from './modules/app-services.ts';
import { ApiKeyService } from './modules/api-keys/service.ts';
import { AuditLog } from './modules/audit/service.ts';
import { Authenticator } from './modules/auth/authenticator.ts';
import { CredentialFailures } from './modules/auth/credential-failures.ts';
import { LoginThrottle } from './modules/auth/login-throttle.ts';
import { AccessRevocations } from './modules/auth/revocations.ts';
import { AuthService } from './modules/auth/service.ts';
import { AccessTokens } from './modules/auth/tokens.ts';
import { createFarmModule } from './modules/farms/index.ts';
import { createTelemetry } from './modules/telemetry/module.ts';
import { ProbeRegistry } from './modules/probes/registry.ts';
import {
  PREDICT_IMAGE_TASK,
  PREDICT_TASK,
  predictImageTaskHandler,
  predictTaskHandler,
} from './modules/ml-api/predict-task.ts';
import { ModelRegistry } from './modules/models/registry.ts';
import { TrafficService } from './modules/models/traffic.ts';
import { PredictionQueries } from './modules/predictions/queries.ts';
import { PredictionWriter } from './modules/predictions/writer.ts';
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
import {
  DatabaseTaskInputs,
  FileTaskInputs,
  sweepSpool,
  type TaskInputs,
} from './modules/tasks/inputs.ts';
import { TaskService } from './modules/tasks/service.ts';
import { ensureAdmin } from './modules/users/bootstrap.ts';
import { UserService } from './modules/users/service.ts';

/** The services of a process, with the lifecycle only its owner (a CLI command, a server) calls. */
export interface AppContext extends AppServices {
  /** Loads the served models (once); /ready waits for it. Called by the roles that serve. */
  startServing(): Promise<void>;
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
 * Who holds the external broker's ingest session: with Redis a key every process can see, else
 * with PostgreSQL a session advisory lock; a process on the embedded database is the only one.
 */
function ingestLease(config: AppConfig): Lease {
  const name = `mqtt-ingest:${config.telemetry.mqttClientId}`;
  if (config.redisUrl) {
    return new RedisLease(
      connectRedis(config.redisUrl),
      `${config.redisPrefix}:${name}`,
      config.telemetry.mqttLeaseTtlMs,
    );
  }
  if (config.databaseUrl) return new PostgresLease(config.databaseUrl, `aquaml:${name}`);
  return new SoleProcessLease();
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
  const probes = new ProbeRegistry();
  const stops: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const stop of stops.reverse()) {
      await stop().catch((err: unknown) => logger.error({ err }, 'error while stopping'));
    }
    stops.length = 0;
  };

  try {
    // Tracing first, so the spans of start-up work are exported too; the SDK loads only when on.
    const otlp = config.observability.otlpEndpoint;
    if (otlp) {
      const { startTracing } = await import('./observability/otel-sdk.ts');
      stops.push(
        startTracing({
          endpoint: otlp,
          serviceName: config.observability.serviceName,
          serviceVersion: VERSION,
          role: options.role,
        }),
      );
    }
    const migrated = probes.waitFor('migrations');
    const database = await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      traced: otlp !== undefined,
    });
    stops.push(() => database.close());
    probes.register('database', async () => {
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
    probes.register('event_bus', async () => {
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
    probes.register('queue', async () => {
      await queue.ping();
      return { status: 'ok', details: { kind: queue.kind, ...(await queue.depth()) } };
    });

    // An S3-compatible store when AQUAML_MODEL_STORE_URL is set; backbones stay local either way.
    const s3 = config.models.s3;
    const store: ModelStore = s3
      ? new S3ModelStore({ ...s3, backbonesDir: join(config.models.storeDir, 'backbones') })
      : new FsModelStore(config.models.storeDir);
    if (store instanceof S3ModelStore) stops.push(async () => store.close());
    probes.register('model_store', async () => {
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
    const expiring: ExpiringStore = rateLimitRedis
      ? new FallbackExpiringStore(
          new RedisExpiringStore(rateLimitRedis, `${config.redisPrefix}:auth:`),
          logger.child({ component: 'auth' }),
        )
      : new MemoryExpiringStore();
    const revocations = new AccessRevocations(expiring, config.jwt.accessTtlSeconds * 1000);
    const credentialFailures = new CredentialFailures(
      expiring,
      config.security.authFailureMax,
      config.rateLimit.windowMs,
    );
    const auth = new AuthService(
      db,
      users,
      tokens,
      audit,
      config.jwt.refreshTtlSeconds,
      new LoginThrottle(db, config.security),
      revocations,
    );
    const farms = createFarmModule(db);
    const authenticator = new Authenticator({
      tokens,
      users,
      apiKeys,
      revocations,
      devices: farms.devices,
    });
    const serves = options.role === 'serve' || options.role === 'api';
    if (serves && config.env === 'development' && config.jwt.secret === DEV_JWT_SECRET) {
      // assertSafe allows the public default only in development and test. On a loopback
      // address nobody else can present a forged token; on any other it is one loud line.
      if (['127.0.0.1', '::1', 'localhost'].includes(config.host)) {
        logger.info(
          'AQUAML_JWT_SECRET is the public development default: set your own before HOST lets others reach this server',
        );
      } else {
        logger.warn(
          `INSECURE: AQUAML_JWT_SECRET is the public development default and HOST=${config.host} lets others reach this server; anyone can forge tokens. Set AQUAML_JWT_SECRET.`,
        );
      }
    }
    const species = new SpeciesService(db);
    const registry = new ModelRegistry(db, store, audit, bus);
    // The shipped models are registered on first use by every command, so a fresh clone classifies.
    if (options.migrate !== false) await registry.registerShipped(config.models.shippedDir);
    if (options.migrate !== false) await ensureAdmin(config, users, audit, logger);

    const metrics = new Metrics();
    const requestWindow = new PerformanceWindow(
      config.observability.performanceWindowSeconds * 1000,
    );
    const traffic = new TrafficService(db, registry, audit, bus);
    const predictions = {
      writer: new PredictionWriter(db, logger),
      queries: new PredictionQueries(db),
    };
    // Flushed after serving stops (stops run in reverse): drained requests store their rows.
    stops.push(() => predictions.writer.flush());
    const serving = createServing({
      config,
      db,
      bus,
      store,
      catalog: registry,
      traffic,
      sink: predictions.writer,
      feedbackAccuracy: (since) => predictions.queries.feedbackAccuracy(since),
      metrics,
      logger,
    });
    stops.push(() => serving.stop());
    const modelsLoaded = probes.waitFor('models');
    let servingStarted: Promise<void> | undefined;
    const startServing = () =>
      (servingStarted ??= serving.start().then(modelsLoaded, (err: unknown) => {
        servingStarted = undefined;
        throw err;
      }));

    const telemetry = createTelemetry({
      config,
      db,
      bus,
      metrics,
      logger,
      devices: farms.devices,
      ingestLease: () => ingestLease(config),
    });
    if (options.role !== 'cli') {
      stops.push(() => telemetry.stop());
      // Every process takes a share of the stream's writes; rules run where tasks run (or in the
      // only process); devices connect to the processes that serve HTTP.
      await telemetry.start({
        writer: true,
        rules: options.role !== 'api' || bus.kind === 'memory',
        mqtt: options.role !== 'worker',
      });
    }

    // Tasks. Register every handler here, before the runner starts taking jobs below.
    const taskRunner = new TaskRunner(db, queue, bus, logger.child({ component: 'tasks' }), {
      shutdownTimeoutMs: config.queue.shutdownTimeoutMs,
    });
    // Embedded, the database engine runs on this thread: image bytes go to files instead.
    const taskInputs: TaskInputs =
      database.kind === 'pglite'
        ? new FileTaskInputs(join(config.dataDir, 'task-inputs'))
        : new DatabaseTaskInputs(db, join(config.dataDir, 'upload-spool'));
    void sweepSpool(taskInputs.spoolDir).catch((err: unknown) =>
      logger.warn({ err }, 'removing stale spooled uploads failed'),
    );
    taskRunner.register(PURGE_TASK, purgeHandler(db, taskInputs));
    taskRunner.register(
      PREDICT_TASK,
      predictTaskHandler(db, taskInputs, () => serving.classifier),
    );
    taskRunner.register(
      PREDICT_IMAGE_TASK,
      predictImageTaskHandler(taskInputs, () => serving.classifier),
    );
    const training = { config, db, registry, store, images: () => serving.images };
    taskRunner.register(TRAIN_TASK, trainHandler(training));
    taskRunner.register(RETRAIN_TASK, retrainHandler(training));
    taskRunner.register(EVALUATE_TASK, evaluateHandler(training));
    for (const [type, handler] of Object.entries(options.taskHandlers ?? {})) {
      taskRunner.register(type, handler);
    }
    const tasks = new TaskService(
      db,
      queue,
      bus,
      taskRunner,
      logger.child({ component: 'tasks' }),
      taskInputs,
    );
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
      probes,
      bus,
      queue,
      store,
      audit,
      users,
      apiKeys,
      tokens,
      auth,
      authenticator,
      credentialFailures,
      species,
      farms,
      telemetry,
      registry,
      traffic,
      predictions,
      metrics,
      performance: requestWindow,
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
