import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { acquireDirLock, type DirLock } from './dir-lock.ts';
import * as schema from './schema.ts';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;
/** What `db.transaction` hands its callback. */
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

export interface DatabaseHandle {
  readonly db: Database;
  readonly kind: 'pglite' | 'postgres';
  /** Applies pending migrations; safe to call from several processes at once. */
  migrate(): Promise<void>;
  /** Round-trip latency in ms; throws when the database does not answer. */
  ping(): Promise<number>;
  close(): Promise<void>;
}

const MIGRATIONS = resolve(import.meta.dirname, 'migrations');
/** Arbitrary constant shared by every AquaML process so only one migrates at a time. */
const MIGRATION_LOCK_KEY = 7_310_452_901;

export interface OpenDatabaseOptions {
  databaseUrl: string | undefined;
  dataDir: string;
  /** Pool size for PostgreSQL. */
  maxConnections?: number;
  /** A span per query made inside a traced operation (tracing on). */
  traced?: boolean;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  return options.databaseUrl
    ? openPostgres(options.databaseUrl, options.maxConnections ?? 10, options.traced ?? false)
    : openPglite(resolve(options.dataDir, 'db'), options.traced ?? false);
}

const tracer = trace.getTracer('aquaml');

/**
 * Wraps a client's query method so each query made under an active span gets a child span.
 * Queries outside any span (background polling) stay untraced: they would only be noise.
 */
function traceQueries<T extends object>(client: T, method: keyof T & string, system: string): void {
  const original = (client[method] as (...args: unknown[]) => Promise<unknown>).bind(client);
  (client as Record<string, unknown>)[method] = (...args: unknown[]) => {
    if (!trace.getActiveSpan()) return original(...args);
    const first = args[0] as string | { text?: string } | undefined;
    const text = typeof first === 'string' ? first : (first?.text ?? '');
    return tracer.startActiveSpan(
      `db ${text.trimStart().split(/\s/, 1)[0]?.toUpperCase() ?? 'QUERY'}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { 'db.system.name': system, 'db.query.text': text.slice(0, 500) },
      },
      async (span) => {
        try {
          return await original(...args);
        } catch (err) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
          throw err;
        } finally {
          span.end();
        }
      },
    );
  };
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

async function openPostgres(url: string, max: number, traced: boolean): Promise<DatabaseHandle> {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 10_000 });
  if (traced) traceQueries(pool, 'query', 'postgresql');
  // An idle client that errors (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = drizzlePg(pool, { schema }) as unknown as Database;
  return {
    db,
    kind: 'postgres',
    async migrate() {
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        await migratePg(drizzlePg(client, { schema }), { migrationsFolder: MIGRATIONS });
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
        client.release();
      }
    },
    ping: () => timed(() => pool.query('SELECT 1')),
    close: () => pool.end(),
  };
}

/**
 * PGlite's own bytea conversion builds one string per byte (a 20 MB file made a 20-million-entry
 * array); Buffer's hex codec does the same in native code.
 */
const BYTEA_OID = 17;
const BYTEA_HEX = {
  [BYTEA_OID]: (x: Uint8Array) =>
    `\\x${Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex')}`,
};
const BYTEA_BUFFER = { [BYTEA_OID]: (s: string) => Buffer.from(s.slice(2), 'hex') };

async function openPglite(dir: string, traced: boolean): Promise<DatabaseHandle> {
  mkdirSync(dir, { recursive: true });
  // PGlite is single-process: a second process opening the same folder would corrupt it.
  const lock: DirLock = acquireDirLock(dir, 'embedded database');
  let client: PGlite;
  try {
    client = await PGlite.create(dir, { serializers: BYTEA_HEX, parsers: BYTEA_BUFFER });
  } catch (err) {
    lock.release();
    throw err;
  }
  if (traced) traceQueries(client, 'query', 'pglite');
  const db = drizzlePglite(client, { schema }) as unknown as Database;
  return {
    db,
    kind: 'pglite',
    async migrate() {
      await migratePglite(drizzlePglite(client, { schema }), { migrationsFolder: MIGRATIONS });
    },
    ping: () => timed(() => db.execute(sql`SELECT 1`)),
    async close() {
      try {
        await client.close();
      } finally {
        lock.release();
      }
    },
  };
}
