import { existsSync, readFileSync } from 'node:fs';
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
  jwt: {
    secret: string;
    issuer: string;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
  };
  admin: { username?: string; email?: string; password?: string };
  rateLimit: { max: number; apiKeyMax: number; windowMs: number };
  corsOrigins: string[];
  models: {
    storeDir: string;
    /** Model artefacts committed with the repository, registered on first use. */
    shippedDir: string;
    backboneThreads: number;
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
  uploads: { maxBytes: number; maxPixels: number };
  /**
   * After SIGTERM the process reports not-ready and keeps serving this long before it stops
   * accepting connections, so requests already on their way (and load balancers) catch up.
   */
  shutdownGraceMs: number;
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

/** The JWT secret used when none is configured; refused in production. */
export const DEV_JWT_SECRET = 'aquaml-development-secret-change-me-0123456789';

const ROOT = resolve(import.meta.dirname, '..');

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
  const r = new Reader(merged);

  const dataDir = resolve(rootDir, r.string('AQUAML_DATA_DIR', './data'));
  const config: AppConfig = {
    env: envName,
    port: r.int('PORT', 8000, 0, 65535),
    host: r.string('HOST', '0.0.0.0'),
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
    redisPrefix: r.redisPrefix('AQUAML_REDIS_PREFIX', 'aquaml'),
    mqttUrl: r.url('MQTT_URL', ['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:']),
    mqttPort: r.int('MQTT_PORT', 1883, 0, 65535),
    jwt: {
      secret: r.string('JWT_SECRET', DEV_JWT_SECRET),
      issuer: r.string('JWT_ISSUER', 'aquaml'),
      accessTtlSeconds: r.int('JWT_ACCESS_TTL_SECONDS', 900, 30, 86_400),
      refreshTtlSeconds: r.int('JWT_REFRESH_TTL_SECONDS', 14 * 86_400, 60, 365 * 86_400),
    },
    admin: {
      username: r.optional('AQUAML_ADMIN_USERNAME'),
      email: r.optional('AQUAML_ADMIN_EMAIL'),
      password: r.optional('AQUAML_ADMIN_PASSWORD'),
    },
    rateLimit: {
      max: r.int('RATE_LIMIT_MAX', 100, 1, 10_000_000),
      // Cameras and sensors post frames and readings far more often than people click.
      apiKeyMax: r.int('RATE_LIMIT_API_KEY_MAX', 6000, 1, 10_000_000),
      windowMs: r.int('RATE_LIMIT_WINDOW_MS', 60_000, 1_000, 86_400_000),
    },
    corsOrigins: (r.optional('CORS_ORIGINS') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    models: {
      storeDir: resolve(rootDir, r.string('AQUAML_MODEL_STORE', resolve(dataDir, 'models'))),
      shippedDir: resolve(rootDir, r.string('AQUAML_SHIPPED_MODELS', resolve(ROOT, 'models'))),
      backboneThreads: r.int('AQUAML_INFERENCE_THREADS', 2, 1, 64),
      s3: readS3Store(r, dataDir),
    },
    datasetsDir: resolve(
      rootDir,
      r.string('AQUAML_DATASETS_DIR', resolve(ROOT, '..', 'shared', 'data')),
    ),
    trainingDataRoots: (
      r.optional('AQUAML_TRAINING_DATA_ROOTS')?.split(',') ?? [
        r.string('AQUAML_DATASETS_DIR', resolve(ROOT, '..', 'shared', 'data')),
        resolve(dataDir, 'datasets'),
      ]
    )
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => resolve(rootDir, p)),
    queue: {
      lockDurationMs: r.int('QUEUE_LOCK_DURATION_MS', 30_000, 1_000, 3_600_000),
      concurrency: r.int('WORKER_CONCURRENCY', 1, 1, 64),
      backoffBaseMs: r.int('QUEUE_BACKOFF_MS', 1_000, 10, 3_600_000),
      shutdownTimeoutMs: r.int('WORKER_SHUTDOWN_TIMEOUT_MS', 20_000, 0, 3_600_000),
    },
    serving: {
      defaultModel: r.string('AQUAML_DEFAULT_MODEL', 'species'),
      healthModel: r.string('AQUAML_HEALTH_MODEL', 'health'),
      maxBatchSize:
        r.optional('AQUAML_MAX_BATCH_SIZE') === undefined
          ? undefined
          : r.int('AQUAML_MAX_BATCH_SIZE', 16, 1, 256),
      maxQueueDelayMs:
        r.optional('AQUAML_MAX_QUEUE_DELAY_MS') === undefined
          ? undefined
          : r.int('AQUAML_MAX_QUEUE_DELAY_MS', 2, 0, 1000),
      maxQueueSize: r.int('AQUAML_MAX_QUEUE_SIZE', 512, 1, 100_000),
      inferenceThreads: r.int('AQUAML_SERVING_THREADS', 1, 1, 64),
      keepImages: r.bool('AQUAML_KEEP_IMAGES', true),
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
    shutdownGraceMs: r.int('AQUAML_SHUTDOWN_GRACE_MS', 1_000, 0, 300_000),
    uploads: {
      maxBytes: r.int('AQUAML_MAX_UPLOAD_BYTES', 20 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      maxPixels: r.int('AQUAML_MAX_IMAGE_PIXELS', 50_000_000, 1, 1_000_000_000),
    },
  };
  assertSafe(config, r);
  return config;
}

/** The S3-compatible model store when AQUAML_MODEL_STORE_URL (`s3://bucket/prefix`) is set. */
function readS3Store(r: Reader, dataDir: string): S3StoreSettings | undefined {
  const name = 'AQUAML_MODEL_STORE_URL';
  const v = r.raw(name);
  if (v === undefined) return undefined;
  if (/^s3:\/\/[^/]*@/.test(v)) {
    // Not echoed: the value holds a secret.
    throw new ConfigError(name, 'put credentials in S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY');
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
  const endpoint = r.url('S3_ENDPOINT', ['http:', 'https:']);
  const region = r.string('S3_REGION', 'us-east-1');
  if (!/^[A-Za-z0-9][\w.-]{0,63}$/.test(region)) {
    throw new ConfigError('S3_REGION', `expected a region name such as us-east-1, got "${region}"`);
  }
  const accessKeyId = r.optional('S3_ACCESS_KEY_ID');
  const secretAccessKey = r.optional('S3_SECRET_ACCESS_KEY');
  if (accessKeyId && !secretAccessKey) {
    throw new ConfigError('S3_SECRET_ACCESS_KEY', 'is required with S3_ACCESS_KEY_ID');
  }
  if (secretAccessKey && !accessKeyId) {
    throw new ConfigError('S3_ACCESS_KEY_ID', 'is required with S3_SECRET_ACCESS_KEY');
  }
  return {
    bucket,
    prefix,
    endpoint,
    region,
    accessKeyId,
    secretAccessKey,
    forcePathStyle: r.bool('S3_FORCE_PATH_STYLE', endpoint !== undefined),
    cacheDir: resolve(dataDir, 'models-cache'),
  };
}

function assertSafe(config: AppConfig, r: Reader): void {
  if (config.jwt.secret.length < 32) {
    throw new ConfigError('JWT_SECRET', 'must be at least 32 characters long');
  }
  if (config.admin.password !== undefined && (!config.admin.username || !config.admin.email)) {
    throw new ConfigError(
      'AQUAML_ADMIN_USERNAME',
      'AQUAML_ADMIN_USERNAME and AQUAML_ADMIN_EMAIL are required with AQUAML_ADMIN_PASSWORD',
    );
  }
  if (config.env !== 'production') return;
  if (r.raw('JWT_SECRET') === undefined || config.jwt.secret === DEV_JWT_SECRET) {
    throw new ConfigError('JWT_SECRET', 'production needs its own secret (the default is public)');
  }
  if (!config.databaseUrl && !config.allowEmbeddedDatabase) {
    throw new ConfigError(
      'DATABASE_URL',
      'production needs PostgreSQL; set AQUAML_ALLOW_EMBEDDED_DB=true to run on the embedded database anyway',
    );
  }
}
