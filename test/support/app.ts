import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { type AppConfig, loadConfig } from '../../src/config.ts';
import { type AppContext, createContext, type CreateContextOptions } from '../../src/context.ts';
import type { ProcessRole } from '../../src/modules/app-services.ts';
import type { Role } from '../../src/db/schema.ts';
import { buildApp } from '../../src/http/app.ts';
import { connectRedis } from '../../src/infra/redis.ts';

export interface TestApp {
  app: FastifyInstance;
  ctx: AppContext;
  config: AppConfig;
  dataDir: string;
  close(): Promise<void>;
}

/** The token test apps accept on /metrics and /health/detailed (AQUAML_METRICS_TOKEN). */
export const MONITORING_TOKEN = 'test-metrics-token-0123456789';
export const MONITORING_HEADERS = { authorization: `Bearer ${MONITORING_TOKEN}` };

let counter = 0;

/** A unique suffix, so tests sharing a PostgreSQL database never collide. */
export function unique(prefix = 'u'): string {
  counter += 1;
  return `${prefix}${process.pid}x${Date.now().toString(36)}x${counter}`;
}

/** A fresh data folder; on the embedded database, a copy of the migrated template when there is one. */
export function freshDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aquaml-test-'));
  const template = process.env.AQUAML_TEST_PGLITE_TEMPLATE;
  if (!process.env.DATABASE_URL && template && existsSync(join(template, 'db'))) {
    cpSync(join(template, 'db'), join(dir, 'db'), { recursive: true });
  }
  return dir;
}

export async function startTestApp(
  options: {
    overrides?: Record<string, string>;
    dataDir?: string;
    role?: ProcessRole;
    /** More context options: task handlers, whether to run tasks. */
    context?: Omit<CreateContextOptions, 'role'>;
    /** Load the served models (starts the inference thread), as the serve role does. */
    serving?: boolean;
  } = {},
): Promise<TestApp> {
  // On PostgreSQL every test app gets a database of its own, as each gets its own PGlite folder.
  const isolated =
    !options.dataDir && !options.overrides?.DATABASE_URL ? await isolatedDatabase() : undefined;
  const dataDir = options.dataDir ?? isolated?.dataDir ?? freshDataDir();
  const config = loadConfig({
    overrides: {
      ...isolated?.overrides,
      NODE_ENV: 'test',
      // A free port for the embedded MQTT broker also when a test sets another NODE_ENV.
      MQTT_PORT: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      AQUAML_DATA_DIR: dataDir,
      // The former name on purpose: a test's override under either name then wins over it.
      RATE_LIMIT_MAX: '100000',
      // Tests share one client address; the suites that test this budget set their own.
      AQUAML_AUTH_FAILURE_MAX: '100000',
      AQUAML_METRICS_TOKEN: MONITORING_TOKEN,
      // Each test app has its own job queue and event streams on a shared Redis.
      AQUAML_REDIS_PREFIX: unique('test'),
      // With MQTT_URL, each test app's ingest session (its client id follows the prefix) leaves
      // the shared broker a minute after the app stopped, instead of queuing readings for days.
      MQTT_SESSION_EXPIRY_SECONDS: '60',
      ...options.overrides,
    },
  });
  const ctx = await createContext(config, { ...options.context, role: options.role ?? 'serve' });
  const app = await buildApp(ctx);
  await app.ready();
  if (options.serving) await ctx.startServing();
  return {
    app,
    ctx,
    config,
    dataDir,
    async close() {
      await app.close();
      await ctx.close();
      if (config.redisUrl) await deleteRedisKeys(config.redisUrl, config.redisPrefix);
      if (isolated) await isolated.drop();
      else if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Removes the Redis keys of one prefix (a test app's queue and streams). */
export async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = connectRedis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export const PASSWORD = 'Correct-Horse-Battery-9';

export interface TestUser {
  id: string;
  username: string;
  email: string;
  token: string;
  refreshToken: string;
  headers: { authorization: string };
}

/** Creates a user with the given role directly, then signs in over HTTP. */
export async function signedInUser(t: TestApp, role: Role = 'viewer'): Promise<TestUser> {
  const username = unique(role);
  const email = `${username}@example.org`;
  const user = await t.ctx.users.create({ username, email, password: PASSWORD, role });
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { username, password: PASSWORD },
  });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.body}`);
  const body = res.json();
  return {
    id: user.id,
    username,
    email,
    token: body.access_token,
    refreshToken: body.refresh_token,
    headers: { authorization: `Bearer ${body.access_token}` },
  };
}

/**
 * A database of its own for tests whose meaning depends on an empty database (the first admin):
 * on PostgreSQL a new database next to DATABASE_URL's, dropped by `drop()`; embedded, a fresh folder.
 */
export async function isolatedDatabase(): Promise<{
  overrides: Record<string, string>;
  dataDir: string;
  drop(): Promise<void>;
}> {
  const dataDir = freshDataDir();
  const base = process.env.DATABASE_URL;
  if (!base)
    return {
      overrides: {},
      dataDir,
      drop: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  const name = unique('aqt').toLowerCase();
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    overrides: { DATABASE_URL: url.toString() },
    dataDir,
    async drop() {
      rmSync(dataDir, { recursive: true, force: true });
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
