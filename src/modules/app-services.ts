// The services the route plugins are given. It is declared here, among the modules that use it,
// and the composition root (src/context.ts) builds it: routes depend on what they are handed,
// never on the code that wires the process together.
import type { AppConfig } from '../config.ts';
import type { Database, DatabaseHandle } from '../db/client.ts';
import type { EventBus } from '../infra/bus/types.ts';
import type { JobQueue } from '../infra/queue/types.ts';
import type { connectRedis } from '../infra/redis.ts';
import type { ModelStore } from '../infra/store/types.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { PerformanceWindow } from '../observability/performance.ts';
import type { Serving } from '../serving/index.ts';
import type { ApiKeyService } from './api-keys/service.ts';
import type { AuditLog } from './audit/service.ts';
import type { Authenticator } from './auth/authenticator.ts';
import type { CredentialFailures } from './auth/credential-failures.ts';
import type { AuthService } from './auth/service.ts';
import type { AccessTokens } from './auth/tokens.ts';
import type { FarmModule } from './farms/index.ts';
import type { ModelRegistry } from './models/registry.ts';
import type { TrafficService } from './models/traffic.ts';
import type { PredictionQueries } from './predictions/queries.ts';
import type { PredictionWriter } from './predictions/writer.ts';
import type { ProbeRegistry } from './probes/registry.ts';
import type { SpeciesService } from './species/service.ts';
import type { TaskRunner } from './tasks/runner.ts';
import type { TaskService } from './tasks/service.ts';
import type { TelemetryModule } from './telemetry/module.ts';
import type { UserService } from './users/service.ts';

/** What this process does: everything (serve), HTTP only (api), jobs only (worker), or a CLI command. */
export type ProcessRole = 'serve' | 'api' | 'worker' | 'cli';

export interface AppServices {
  readonly config: AppConfig;
  readonly role: ProcessRole;
  readonly version: string;
  readonly logger: Logger;
  readonly database: DatabaseHandle;
  readonly db: Database;
  /** Dependency checks for /health/detailed and the readiness conditions of /ready. */
  readonly probes: ProbeRegistry;
  readonly bus: EventBus;
  readonly queue: JobQueue;
  readonly store: ModelStore;
  readonly audit: AuditLog;
  readonly users: UserService;
  readonly apiKeys: ApiKeyService;
  readonly tokens: AccessTokens;
  readonly auth: AuthService;
  readonly authenticator: Authenticator;
  /** Wrong bearer tokens and API keys per client address (429 past the budget). */
  readonly credentialFailures: CredentialFailures;
  readonly species: SpeciesService;
  /** Farms, units, devices (and their keys), logs, membership checks. */
  readonly farms: FarmModule;
  /** Water-quality readings (HTTP and MQTT doors, storage, rules) and the alerts of every kind. */
  readonly telemetry: TelemetryModule;
  readonly registry: ModelRegistry;
  /** The models' traffic splits and shadow targets (audited changes). */
  readonly traffic: TrafficService;
  /** Stored predictions: the group-commit writer, history and stats queries, feedback. */
  readonly predictions: { readonly writer: PredictionWriter; readonly queries: PredictionQueries };
  readonly metrics: Metrics;
  /** API requests of the recent window, for GET /api/v1/metrics/performance. */
  readonly performance: PerformanceWindow;
  /** The classify pipeline: model runtime, traffic router, classification, drift. */
  readonly serving: Serving;
  /** Create, read and cancel background tasks. */
  readonly tasks: TaskService;
  /** The task handler registry; it runs tasks in the serve and worker roles. */
  readonly taskRunner: TaskRunner;
  /** A Redis client for shared rate-limit counters when REDIS_URL is set. */
  readonly rateLimitRedis: ReturnType<typeof connectRedis> | undefined;
}
