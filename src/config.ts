import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { parse as parseYaml } from 'yaml';

export type Environment = 'development' | 'test' | 'staging' | 'production';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface AppConfig {
  env: Environment;
  port: number;
  host: string;
  logLevel: LogLevel;
  /** One folder holds the whole embedded state: database, model store, caches. */
  dataDir: string;
  databaseUrl: string | undefined;
  allowEmbeddedDatabase: boolean;
  redisUrl: string | undefined;
  /** Namespace of every Redis key (job queue, event bus), so deployments and tests can share one Redis. */
  redisPrefix: string;
  mqttUrl: string | undefined;
  mqttPort: number;
  telemetry: TelemetrySettings;
  jwt: {
    secret: string;
    issuer: string;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
  };
  admin: { username?: string; email?: string; password?: string };
  rateLimit: { max: number; apiKeyMax: number; windowMs: number };
  /**
   * Proxies whose X-Forwarded-For is believed (addresses, CIDRs, or proxy-addr's loopback /
   * linklocal / uniquelocal), or a hop count; false (the default) believes none, so a client
   * cannot pick the address the rate limits count.
   */
  trustProxy: false | string[] | number;
  security: SecuritySettings;
  corsOrigins: string[];
  models: {
    storeDir: string;
    /** Model artefacts committed with the repository, registered on first use. */
    shippedDir: string;
    /** onnxruntime intra-op threads of training and evaluation; unset: the backbone session's default. */
    backboneThreads: number | undefined;
    /** An S3-compatible model store (AQUAML_MODEL_STORE_URL); unset: the local folder storeDir. */
    s3?: S3StoreSettings;
  };
  datasetsDir: string;
  /** Folders the API may read training and evaluation data from (the datasets folder, and <data dir>/datasets). */
  trainingDataRoots: string[];
  serving: {
    /** The model name /predictions/classify uses when the request names none. */
    defaultModel: string;
    /** A model of this name, when registered, adds a health assessment to each classification. */
    healthModel: string;
    /** Override the models' own dynamic batching settings (unset: each manifest decides). */
    maxBatchSize?: number;
    maxQueueDelayMs?: number;
    /** Requests waiting per model version beyond this get 503 + Retry-After. */
    maxQueueSize: number;
    /**
     * onnxruntime intra-op threads of the serving engine. One by default: the engine shares the
     * cores with HTTP and image decoding, and a second ORT thread then only adds contention
     * (measured by `npm run bench -- inference`, docs/serving.md).
     */
    inferenceThreads: number;
    /** Keep classified images (by content hash) so feedback can retrain models. */
    keepImages: boolean;
    /** Also keep camera frames (POST /units/{id}/frames); needs keepImages. */
    keepFrames: boolean;
    imageRetentionDays: number;
    /** Answer repeated images (same bytes, same model version) from a cache. */
    cacheEnabled: boolean;
    cacheEntries: number;
    cacheTtlSeconds: number;
    /** PSI above which a model version's recent inputs count as drifted (an alert is raised). */
    /** Batches up to this size are answered at once; larger ones become a task. */
    syncBatchMax: number;
    maxBatchImages: number;
    driftPsiThreshold: number;
    driftMinSamples: number;
    driftIntervalMs: number;
    /** Rolling accuracy from feedback: the window, the least labels judged, the drop that alerts. */
    feedbackWindowDays: number;
    accuracyMinFeedback: number;
    accuracyDropAlert: number;
  };
  queue: {
    lockDurationMs: number;
    concurrency: number;
    /** First retry delay; each further retry waits twice as long. */
    backoffBaseMs: number;
    /** How long a stopping worker waits for running jobs before returning them to the queue. */
    shutdownTimeoutMs: number;
  };
  uploads: {
    /** Largest single image, uploaded or inside a zip/tar bundle (a bundle entry's budget). */
    maxBytes: number;
    maxPixels: number;
    /**
     * Total bytes one batch request may expand to (its files plus every bundle entry
     * uncompressed): a bundle that would go past it is refused before it is inflated further.
     */
    maxBatchBytes: number;
    /**
     * How many times larger than its compressed bytes a bundle entry (or a gzip stream) may
     * grow. Photos barely compress; zip and gzip bombs expand about 1000 times.
     */
    maxCompressionRatio: number;
  };
  observability: {
    /** The sliding window of GET /api/v1/metrics/performance. */
    performanceWindowSeconds: number;
    /** OTLP/HTTP collector base URL; tracing is off without it. */
    otlpEndpoint: string | undefined;
    /** service.name of the spans (OTEL_SERVICE_NAME). */
    serviceName: string;
  };
  /**
   * After SIGTERM the process reports not-ready and keeps serving this long before it stops
   * accepting connections, so requests already on their way (and load balancers) catch up.
   */
  shutdownGraceMs: number;
  /** One line per deprecated setting name in use (the server logs them at start). */
  deprecations: string[];
}

export interface SecuritySettings {
  /** Failed sign-ins an account may have before each further one locks it for a while. */
  loginMaxFailures: number;
  /** The first lock; each further failure doubles it, up to loginLockoutMaxMs. */
  loginLockoutBaseMs: number;
  loginLockoutMaxMs: number;
  /** Failures older than this are forgotten. */
  loginFailureWindowMs: number;
  /** Wrong bearer tokens and API keys one address may send per rate-limit window. */
  authFailureMax: number;
  /** Viewers may label their own predictions (operators and admins always may). */
  feedbackAllowAuthor: boolean;
  /** A bearer token that may read /metrics and /health/detailed (besides an admin). */
  metricsToken?: string;
  /** /metrics and /health/detailed without any token (for a network that isolates them). */
  metricsPublic: boolean;
  /** The OpenAPI document and Swagger UI at /docs without signing in. */
  docsPublic: boolean;
  /** Send HSTS and upgrade-insecure-requests (only behind TLS). */
  hsts: boolean;
}

/** Water-quality ingest, storage, rules and alert notifications. */
export interface TelemetrySettings {
  /** Interface of the embedded MQTT broker (MQTT_PORT), when MQTT_URL is unset. */
  mqttHost: string;
  /**
   * Client id of the external broker's ingest session (MQTT_URL): one persistent session, held by
   * one process at a time (the ingest lease), so the broker queues QoS 1 readings while it is away.
   */
  mqttClientId: string;
  /** How long the broker keeps that session (and queues for it) after the holder disconnected. */
  mqttSessionExpirySeconds: number;
  /** A holder that has not renewed the ingest lease this long loses it to a standby process. */
  mqttLeaseTtlMs: number;
  /** Readings per HTTP request at most. */
  maxBatch: number;
  /** Rows per multi-row insert, and how long a reading waits for others to share it. */
  insertBatch: number;
  flushMs: number;
  insertConcurrency: number;
  /** Readings stamped further ahead of the server clock are rejected. */
  maxFutureSkewMs: number;
  /** Raw readings are kept this long; per-minute and per-hour rollups longer. */
  rawRetentionDays: number;
  minuteRetentionDays: number;
  hourRetentionDays: number;
  /** A rule's condition (and its recovery) must hold this long before an alert opens (resolves). */
  ruleMinDurationMs: number;
  /** Dissolved oxygen falling faster than this (mg/L per hour) over the window alerts. */
  oxygenFallPerHour: number;
  rateWindowMs: number;
  /** A sensor silent this long raises a device alert. */
  deviceSilentMs: number;
  /** Alert events are posted to these URLs, signed with the secret (HMAC-SHA256). */
  webhookUrls: string[];
  webhookSecret: string | undefined;
  webhookAttempts: number;
  /** Seed a demo farm and keep a simulator feeding it (AQUAML_DEMO=1). */
  demo: boolean;
}

export interface S3StoreSettings {
  bucket: string;
  /** Key prefix without leading or trailing slash ('' for the bucket's root). */
  prefix: string;
  endpoint?: string;
  region: string;
  /** Both or neither; neither: the AWS SDK's default credential chain. Never logged. */
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
  /** Where downloaded versions are cached: `<data dir>/models-cache`. */
  cacheDir: string;
}

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`Invalid configuration: ${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** The JWT secret used when none is configured; refused outside development and test. */
export const DEV_JWT_SECRET = 'aquaml-development-secret-change-me-0123456789';

const ROOT = resolve(import.meta.dirname, '..');

/**
 * Settings the app owns carry the AQUAML_ prefix. Their former names still work (a deprecation
 * line says which to use); in config/<env>.yaml the prefix is implied, so `jwt: {secret}` keeps
 * working silently. Names shared with the platform stay as they are: NODE_ENV, PORT, HOST,
 * LOG_LEVEL and the service URLs (DATABASE_URL, REDIS_URL, MQTT_URL, and MQTT_PORT / MQTT_HOST /
 * MQTT_CLIENT_ID / MQTT_SESSION_EXPIRY_SECONDS, which the farm monitoring uses).
 */
export const RENAMED_SETTINGS: Readonly<Record<string, string>> = {
  JWT_SECRET: 'AQUAML_JWT_SECRET',
  JWT_ISSUER: 'AQUAML_JWT_ISSUER',
  JWT_ACCESS_TTL_SECONDS: 'AQUAML_JWT_ACCESS_TTL_SECONDS',
  JWT_REFRESH_TTL_SECONDS: 'AQUAML_JWT_REFRESH_TTL_SECONDS',
  RATE_LIMIT_MAX: 'AQUAML_RATE_LIMIT_MAX',
  RATE_LIMIT_API_KEY_MAX: 'AQUAML_RATE_LIMIT_API_KEY_MAX',
  RATE_LIMIT_WINDOW_MS: 'AQUAML_RATE_LIMIT_WINDOW_MS',
  CORS_ORIGINS: 'AQUAML_CORS_ORIGINS',
  WORKER_CONCURRENCY: 'AQUAML_WORKER_CONCURRENCY',
  QUEUE_LOCK_DURATION_MS: 'AQUAML_QUEUE_LOCK_DURATION_MS',
  QUEUE_BACKOFF_MS: 'AQUAML_QUEUE_BACKOFF_MS',
  WORKER_SHUTDOWN_TIMEOUT_MS: 'AQUAML_WORKER_SHUTDOWN_TIMEOUT_MS',
  S3_ENDPOINT: 'AQUAML_S3_ENDPOINT',
  S3_REGION: 'AQUAML_S3_REGION',
  S3_ACCESS_KEY_ID: 'AQUAML_S3_ACCESS_KEY_ID',
  S3_SECRET_ACCESS_KEY: 'AQUAML_S3_SECRET_ACCESS_KEY',
  S3_FORCE_PATH_STYLE: 'AQUAML_S3_FORCE_PATH_STYLE',
  // Threads of training and evaluation (embedding), as AQUAML_SERVING_THREADS are those of serving.
  AQUAML_INFERENCE_THREADS: 'AQUAML_TRAINING_THREADS',
  TRUST_PROXY: 'AQUAML_TRUST_PROXY',
};

/**
 * Gives each renamed setting its value under both names (the new one wins), and says which old
 * names were set outside YAML.
 */
function applyRenames(merged: Record<string, string | undefined>, fromYaml: Set<string>): string[] {
  const deprecations: string[] = [];
  for (const [old, current] of Object.entries(RENAMED_SETTINGS)) {
    const oldValue = merged[old];
    if (oldValue !== undefined && !fromYaml.has(old)) {
      deprecations.push(`${old} is deprecated; use ${current}`);
    }
    merged[current] ??= oldValue;
    merged[old] = merged[current];
  }
  return deprecations;
}

type Source = Record<string, unknown>;

/** Flattens `{jwt: {secret: x}}` into `{JWT_SECRET: x}` so YAML and env share one key space. */
function flatten(
  obj: Source,
  prefix = '',
  out: Record<string, string> = {},
): Record<string, string> {
  for (const [key, value] of Object.entries(obj)) {
    const name = (prefix ? `${prefix}_${key}` : key).toUpperCase();
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      flatten(value as Source, name, out);
    } else if (Array.isArray(value)) {
      out[name] = value.join(',');
    } else if (value !== null && value !== undefined) {
      out[name] = String(value);
    }
  }
  return out;
}

function readYaml(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const parsed: unknown = parseYaml(readFileSync(path, 'utf8'));
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(path, 'the file must hold a mapping of settings');
  }
  return flatten(parsed as Source);
}

function readDotenv(path: string): Record<string, string> {
  return existsSync(path) ? parseDotenv(readFileSync(path)) : {};
}

class Reader {
  constructor(private readonly values: Record<string, string | undefined>) {}

  raw(name: string): string | undefined {
    const v = this.values[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  optional(name: string): string | undefined {
    return this.raw(name);
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!/^-?\d+$/.test(v)) throw new ConfigError(name, `expected a whole number, got "${v}"`);
    const n = Number(v);
    if (n < min || n > max)
      throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
    return n;
  }

  optionalInt(name: string, min: number, max: number): number | undefined {
    return this.raw(name) === undefined ? undefined : this.int(name, 0, min, max);
  }

  number(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new ConfigError(name, `expected a number, got "${v}"`);
    if (n < min || n > max)
      throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.raw(name)?.toLowerCase();
    if (v === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new ConfigError(name, `expected true or false, got "${v}"`);
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(v)) {
      throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${v}"`);
    }
    return v as T;
  }

  mqttClientId(name: string, fallback: string): string {
    const v = this.string(name, fallback);
    if (!/^[\x21-\x7e]{1,128}$/.test(v)) {
      throw new ConfigError(
        name,
        `must be 1-128 printable ASCII characters without spaces, got "${v}"`,
      );
    }
    return v;
  }

  redisPrefix(name: string, fallback: string): string {
    const v = this.string(name, fallback);
    if (!/^[A-Za-z0-9][\w.-]{0,63}$/.test(v)) {
      throw new ConfigError(
        name,
        `must be 1-64 letters, digits, dot, dash or underscore, got "${v}"`,
      );
    }
    return v;
  }

  url(name: string, protocols: readonly string[]): string | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(v);
    } catch {
      throw new ConfigError(name, 'is not a valid URL');
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new ConfigError(name, `must use ${protocols.join(' or ')}, got ${parsed.protocol}`);
    }
    return v;
  }
}

export interface LoadConfigOptions {
  /** Values that win over everything else (tests, CLI flags). */
  overrides?: Record<string, string | undefined>;
  env?: NodeJS.ProcessEnv;
  /** Folder holding `.env` and `config/`; the repository root by default. */
  rootDir?: string;
}

/**
 * Builds the typed configuration. Precedence: overrides > process env > `.env` > `config/<env>.yaml` > defaults.
 * Throws ConfigError naming the setting when a value is invalid or unsafe.
 */
export function loadConfig(options: LoadConfigOptions = {}): AppConfig {
  const rootDir = options.rootDir ?? ROOT;
  const env = options.env ?? process.env;
  const dotenv = readDotenv(resolve(rootDir, '.env'));
  const pick = (k: string) => options.overrides?.[k] ?? env[k] ?? dotenv[k];
  const envName = new Reader({ NODE_ENV: pick('NODE_ENV') }).oneOf<Environment>(
    'NODE_ENV',
    'development',
    ['development', 'test', 'staging', 'production'],
  );
  const yaml = readYaml(resolve(rootDir, 'config', `${envName}.yaml`));
  const merged: Record<string, string | undefined> = { ...yaml, ...dotenv };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) merged[k] = v;
  for (const [k, v] of Object.entries(options.overrides ?? {})) merged[k] = v;
  const fromYaml = new Set(Object.keys(yaml).filter((k) => merged[k] === yaml[k]));
  const deprecations = applyRenames(merged, fromYaml);
  const r = new Reader(merged);

  const dataDir = resolve(rootDir, r.string('AQUAML_DATA_DIR', './data'));
  const datasetsDir = resolve(
    rootDir,
    r.string('AQUAML_DATASETS_DIR', resolve(ROOT, '..', 'shared', 'data')),
  );
  // A development server is reachable from this machine only unless HOST says otherwise.
  const host = r.string(
    'HOST',
    envName === 'development' || envName === 'test' ? '127.0.0.1' : '0.0.0.0',
  );
  const redisPrefix = r.redisPrefix('AQUAML_REDIS_PREFIX', 'aquaml');
  const config: AppConfig = {
    env: envName,
    port: r.int('PORT', 8000, 0, 65535),
    host,
    logLevel: r.oneOf<LogLevel>('LOG_LEVEL', envName === 'test' ? 'silent' : 'info', [
      'fatal',
      'error',
      'warn',
      'info',
      'debug',
      'trace',
      'silent',
    ]),
    dataDir,
    databaseUrl: r.url('DATABASE_URL', ['postgres:', 'postgresql:']),
    allowEmbeddedDatabase: r.bool('AQUAML_ALLOW_EMBEDDED_DB', envName !== 'production'),
    redisUrl: r.url('REDIS_URL', ['redis:', 'rediss:']),
    redisPrefix,
    mqttUrl: r.url('MQTT_URL', ['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:']),
    // Tests default to a free port: the machines run a Mosquitto on 1883.
    mqttPort: r.int('MQTT_PORT', envName === 'test' ? 0 : 1883, 0, 65535),
    telemetry: {
      // The embedded broker listens where the HTTP server does unless MQTT_HOST says otherwise.
      mqttHost: r.string('MQTT_HOST', host),
      mqttClientId: r.mqttClientId('MQTT_CLIENT_ID', `aquaml-ingest-${redisPrefix}`),
      mqttSessionExpirySeconds: r.int('MQTT_SESSION_EXPIRY_SECONDS', 7 * 86_400, 60, 0xffffffff),
      mqttLeaseTtlMs: r.int('AQUAML_MQTT_LEASE_TTL_MS', 10_000, 1_000, 600_000),
      maxBatch: r.int('AQUAML_TELEMETRY_MAX_BATCH', 10_000, 1, 1_000_000),
      insertBatch: r.int('AQUAML_TELEMETRY_INSERT_BATCH', 5_000, 1, 100_000),
      flushMs: r.int('AQUAML_TELEMETRY_FLUSH_MS', 20, 0, 10_000),
      insertConcurrency: r.int('AQUAML_TELEMETRY_INSERT_CONCURRENCY', 2, 1, 64),
      maxFutureSkewMs: r.int('AQUAML_TELEMETRY_MAX_FUTURE_SKEW_MS', 5 * 60_000, 0, 86_400_000),
      rawRetentionDays: r.int('AQUAML_TELEMETRY_RAW_RETENTION_DAYS', 30, 1, 36_500),
      minuteRetentionDays: r.int('AQUAML_TELEMETRY_MINUTE_RETENTION_DAYS', 90, 1, 36_500),
      hourRetentionDays: r.int('AQUAML_TELEMETRY_HOUR_RETENTION_DAYS', 730, 1, 36_500),
      ruleMinDurationMs: r.int('AQUAML_RULE_MIN_DURATION_MS', 60_000, 0, 86_400_000),
      oxygenFallPerHour: r.number('AQUAML_RULE_OXYGEN_FALL_PER_HOUR', 2, 0.01, 100),
      rateWindowMs: r.int('AQUAML_RULE_RATE_WINDOW_MS', 15 * 60_000, 10_000, 86_400_000),
      deviceSilentMs: r.int('AQUAML_RULE_DEVICE_SILENT_MS', 10 * 60_000, 1_000, 30 * 86_400_000),
      webhookUrls: (r.optional('AQUAML_ALERT_WEBHOOK_URLS') ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      webhookSecret: r.optional('AQUAML_ALERT_WEBHOOK_SECRET'),
      webhookAttempts: r.int('AQUAML_ALERT_WEBHOOK_ATTEMPTS', 5, 1, 20),
      demo: r.bool('AQUAML_DEMO', false),
    },
    jwt: {
      secret: r.string('AQUAML_JWT_SECRET', DEV_JWT_SECRET),
      issuer: r.string('AQUAML_JWT_ISSUER', 'aquaml'),
      accessTtlSeconds: r.int('AQUAML_JWT_ACCESS_TTL_SECONDS', 900, 30, 86_400),
      refreshTtlSeconds: r.int('AQUAML_JWT_REFRESH_TTL_SECONDS', 14 * 86_400, 60, 365 * 86_400),
    },
    admin: {
      username: r.optional('AQUAML_ADMIN_USERNAME'),
      email: r.optional('AQUAML_ADMIN_EMAIL'),
      password: r.optional('AQUAML_ADMIN_PASSWORD'),
    },
    rateLimit: {
      max: r.int('AQUAML_RATE_LIMIT_MAX', 100, 1, 10_000_000),
      // Cameras and sensors post frames and readings far more often than people click.
      apiKeyMax: r.int('AQUAML_RATE_LIMIT_API_KEY_MAX', 6000, 1, 10_000_000),
      windowMs: r.int('AQUAML_RATE_LIMIT_WINDOW_MS', 60_000, 1_000, 86_400_000),
    },
    trustProxy: readTrustProxy(r),
    security: {
      loginMaxFailures: r.int('AQUAML_LOGIN_MAX_FAILURES', 5, 1, 1000),
      loginLockoutBaseMs: r.int('AQUAML_LOGIN_LOCKOUT_MS', 1_000, 1, 86_400_000),
      loginLockoutMaxMs: r.int('AQUAML_LOGIN_LOCKOUT_MAX_MS', 15 * 60_000, 1, 7 * 86_400_000),
      loginFailureWindowMs: r.int(
        'AQUAML_LOGIN_FAILURE_WINDOW_MS',
        3_600_000,
        1_000,
        30 * 86_400_000,
      ),
      authFailureMax: r.int('AQUAML_AUTH_FAILURE_MAX', 30, 1, 10_000_000),
      feedbackAllowAuthor: r.bool('AQUAML_FEEDBACK_ALLOW_AUTHOR', false),
      metricsToken: readMetricsToken(r),
      metricsPublic: r.bool('AQUAML_METRICS_PUBLIC', false),
      docsPublic: r.bool('AQUAML_DOCS_PUBLIC', true),
      hsts: r.bool('AQUAML_HSTS', false),
    },
    corsOrigins: (r.optional('AQUAML_CORS_ORIGINS') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    models: {
      storeDir: resolve(rootDir, r.string('AQUAML_MODEL_STORE', resolve(dataDir, 'models'))),
      shippedDir: resolve(rootDir, r.string('AQUAML_SHIPPED_MODELS', resolve(ROOT, 'models'))),
      backboneThreads: r.optionalInt('AQUAML_TRAINING_THREADS', 1, 64),
      s3: readS3Store(r, dataDir),
    },
    datasetsDir,
    trainingDataRoots: (
      r.optional('AQUAML_TRAINING_DATA_ROOTS')?.split(',') ?? [
        datasetsDir,
        resolve(dataDir, 'datasets'),
      ]
    )
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => resolve(rootDir, p)),
    queue: {
      lockDurationMs: r.int('AQUAML_QUEUE_LOCK_DURATION_MS', 30_000, 1_000, 3_600_000),
      concurrency: r.int('AQUAML_WORKER_CONCURRENCY', 1, 1, 64),
      backoffBaseMs: r.int('AQUAML_QUEUE_BACKOFF_MS', 1_000, 10, 3_600_000),
      shutdownTimeoutMs: r.int('AQUAML_WORKER_SHUTDOWN_TIMEOUT_MS', 20_000, 0, 3_600_000),
    },
    serving: {
      defaultModel: r.string('AQUAML_DEFAULT_MODEL', 'species'),
      healthModel: r.string('AQUAML_HEALTH_MODEL', 'fish-health'),
      // Unset: each manifest's batching (DEFAULT_BATCHING in ml/artifact/manifest.ts when it has none).
      maxBatchSize: r.optionalInt('AQUAML_MAX_BATCH_SIZE', 1, 256),
      maxQueueDelayMs: r.optionalInt('AQUAML_MAX_QUEUE_DELAY_MS', 0, 1000),
      maxQueueSize: r.int('AQUAML_MAX_QUEUE_SIZE', 512, 1, 100_000),
      inferenceThreads: r.int('AQUAML_SERVING_THREADS', 1, 1, 64),
      keepImages: r.bool('AQUAML_KEEP_IMAGES', true),
      keepFrames: r.bool('AQUAML_KEEP_FRAMES', false),
      imageRetentionDays: r.int('AQUAML_IMAGE_RETENTION_DAYS', 30, 1, 3650),
      cacheEnabled: r.bool('AQUAML_PREDICTION_CACHE', true),
      cacheEntries: r.int('AQUAML_PREDICTION_CACHE_ENTRIES', 10_000, 1, 10_000_000),
      cacheTtlSeconds: r.int('AQUAML_PREDICTION_CACHE_TTL_SECONDS', 3600, 1, 30 * 86_400),
      syncBatchMax: r.int('AQUAML_SYNC_BATCH_MAX', 32, 0, 10_000),
      maxBatchImages: r.int('AQUAML_MAX_BATCH_IMAGES', 2_000, 1, 1_000_000),
      driftPsiThreshold: r.number('AQUAML_DRIFT_PSI_THRESHOLD', 0.25, 0.01, 10),
      driftMinSamples: r.int('AQUAML_DRIFT_MIN_SAMPLES', 200, 10, 1_000_000),
      driftIntervalMs: r.int('AQUAML_DRIFT_INTERVAL_MS', 60_000, 1_000, 86_400_000),
      feedbackWindowDays: r.int('AQUAML_FEEDBACK_WINDOW_DAYS', 30, 1, 3650),
      accuracyMinFeedback: r.int('AQUAML_ACCURACY_MIN_FEEDBACK', 30, 1, 1_000_000),
      accuracyDropAlert: r.number('AQUAML_ACCURACY_DROP_ALERT', 0.1, 0, 1),
    },
    observability: {
      performanceWindowSeconds: r.int('AQUAML_PERFORMANCE_WINDOW_SECONDS', 300, 1, 86_400),
      otlpEndpoint: r.url('OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']),
      serviceName: r.string('OTEL_SERVICE_NAME', 'aquaml'),
    },
    shutdownGraceMs: r.int('AQUAML_SHUTDOWN_GRACE_MS', 1_000, 0, 300_000),
    deprecations,
    uploads: {
      maxBytes: r.int('AQUAML_MAX_UPLOAD_BYTES', 20 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      maxPixels: r.int('AQUAML_MAX_IMAGE_PIXELS', 50_000_000, 1, 1_000_000_000),
      maxBatchBytes: r.int(
        'AQUAML_MAX_BATCH_BYTES',
        128 * 1024 * 1024,
        1024,
        16 * 1024 * 1024 * 1024,
      ),
      maxCompressionRatio: r.int('AQUAML_MAX_COMPRESSION_RATIO', 100, 2, 100_000),
    },
  };
  assertSafe(config);
  return config;
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** AQUAML_TRUST_PROXY (or TRUST_PROXY): the proxies whose X-Forwarded-For counts. */
function readTrustProxy(r: Reader): false | string[] | number {
  const name = 'AQUAML_TRUST_PROXY';
  const v = r.raw(name);
  if (v === undefined || ['false', '0', 'no', 'off'].includes(v.toLowerCase())) return false;
  if (/^\d+$/.test(v)) return r.int(name, 0, 0, 10);
  if (['true', 'yes', 'on', '*'].includes(v.toLowerCase())) {
    throw new ConfigError(
      name,
      'trusting every proxy lets any client choose its address (and dodge rate limits): list the proxies (addresses, CIDRs, loopback, linklocal, uniquelocal) or give a hop count',
    );
  }
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of list) {
    if (!PROXY_NAMES.has(entry) && !isIP(entry.split('/')[0]!)) {
      throw new ConfigError(
        name,
        `"${entry}" is not an address, a CIDR or ${[...PROXY_NAMES].join(', ')}`,
      );
    }
  }
  return list;
}

function readMetricsToken(r: Reader): string | undefined {
  const v = r.optional('AQUAML_METRICS_TOKEN');
  if (v !== undefined && v.length < 16) {
    throw new ConfigError('AQUAML_METRICS_TOKEN', 'must be at least 16 characters long');
  }
  return v;
}

/** The S3-compatible model store when AQUAML_MODEL_STORE_URL (`s3://bucket/prefix`) is set. */
function readS3Store(r: Reader, dataDir: string): S3StoreSettings | undefined {
  const name = 'AQUAML_MODEL_STORE_URL';
  const v = r.raw(name);
  if (v === undefined) return undefined;
  if (/^s3:\/\/[^/]*@/.test(v)) {
    // Not echoed: the value holds a secret.
    throw new ConfigError(
      name,
      'put credentials in AQUAML_S3_ACCESS_KEY_ID and AQUAML_S3_SECRET_ACCESS_KEY',
    );
  }
  const match = /^s3:\/\/([^/?#@]+)(\/[^?#]*)?$/.exec(v);
  if (!match) {
    throw new ConfigError(name, `expected s3://<bucket>[/<prefix>], got "${v}"`);
  }
  const bucket = match[1]!;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..')) {
    throw new ConfigError(
      name,
      `"${bucket}" is not a bucket name (3-63 of a-z, 0-9, dot and dash, starting and ending with a letter or digit)`,
    );
  }
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((part) => part === '.' || part === '..' || (prefix && !part))) {
    throw new ConfigError(name, `the prefix "${prefix}" has an empty, . or .. segment`);
  }
  const endpoint = r.url('AQUAML_S3_ENDPOINT', ['http:', 'https:']);
  const region = r.string('AQUAML_S3_REGION', 'us-east-1');
  if (!/^[A-Za-z0-9][\w.-]{0,63}$/.test(region)) {
    throw new ConfigError(
      'AQUAML_S3_REGION',
      `expected a region name such as us-east-1, got "${region}"`,
    );
  }
  const accessKeyId = r.optional('AQUAML_S3_ACCESS_KEY_ID');
  const secretAccessKey = r.optional('AQUAML_S3_SECRET_ACCESS_KEY');
  if (accessKeyId && !secretAccessKey) {
    throw new ConfigError(
      'AQUAML_S3_SECRET_ACCESS_KEY',
      'is required with AQUAML_S3_ACCESS_KEY_ID',
    );
  }
  if (secretAccessKey && !accessKeyId) {
    throw new ConfigError(
      'AQUAML_S3_ACCESS_KEY_ID',
      'is required with AQUAML_S3_SECRET_ACCESS_KEY',
    );
  }
  return {
    bucket,
    prefix,
    endpoint,
    region,
    accessKeyId,
    secretAccessKey,
    forcePathStyle: r.bool('AQUAML_S3_FORCE_PATH_STYLE', endpoint !== undefined),
    cacheDir: resolve(dataDir, 'models-cache'),
  };
}

function assertSafe(config: AppConfig): void {
  if (config.jwt.secret.length < 32) {
    throw new ConfigError('AQUAML_JWT_SECRET', 'must be at least 32 characters long');
  }
  if (config.admin.password !== undefined && (!config.admin.username || !config.admin.email)) {
    throw new ConfigError(
      'AQUAML_ADMIN_USERNAME',
      'AQUAML_ADMIN_USERNAME and AQUAML_ADMIN_EMAIL are required with AQUAML_ADMIN_PASSWORD',
    );
  }
  for (const url of config.telemetry.webhookUrls) {
    if (!/^https?:\/\/[^\s]+$/.test(url)) {
      throw new ConfigError('AQUAML_ALERT_WEBHOOK_URLS', `"${url}" is not an http(s) URL`);
    }
  }
  if (config.telemetry.webhookUrls.length && !config.telemetry.webhookSecret) {
    throw new ConfigError(
      'AQUAML_ALERT_WEBHOOK_SECRET',
      'is required with AQUAML_ALERT_WEBHOOK_URLS',
    );
  }
  const local = config.env === 'development' || config.env === 'test';
  if (!local && config.jwt.secret === DEV_JWT_SECRET) {
    throw new ConfigError(
      'AQUAML_JWT_SECRET',
      `${config.env} needs its own secret (the default is public); only development and test may use it`,
    );
  }
  if (config.env !== 'production') return;
  if (!config.databaseUrl && !config.allowEmbeddedDatabase) {
    throw new ConfigError(
      'DATABASE_URL',
      'production needs PostgreSQL; set AQUAML_ALLOW_EMBEDDED_DB=true to run on the embedded database anyway',
    );
  }
}
