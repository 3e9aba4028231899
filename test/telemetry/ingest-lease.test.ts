// The ingest lease that decides which process holds the external broker's MQTT session: on Redis
// (a key with a time to live) and on PostgreSQL (a session advisory lock), against the real
// services; and the keeper that takes, renews and loses it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import pg from 'pg';
import { keepLease } from '../../src/infra/lease/keeper.ts';
import { PostgresLease } from '../../src/infra/lease/postgres.ts';
import { SoleProcessLease } from '../../src/infra/lease/process.ts';
import { RedisLease } from '../../src/infra/lease/redis.ts';
import type { Lease } from '../../src/infra/lease/types.ts';
import { connectRedis } from '../../src/infra/redis.ts';
import { createLogger } from '../../src/logger.ts';
import { waitFor } from './helpers.ts';

const logger = createLogger('silent');
const skipRedis = process.env.REDIS_URL ? false : 'set REDIS_URL to run the Redis lease tests';
const skipPostgres = process.env.DATABASE_URL
  ? false
  : 'set DATABASE_URL to run the PostgreSQL lease tests';

/** Keeps `lease`, recording each change. */
async function kept(lease: Lease, everyMs: number) {
  const changes: boolean[] = [];
  const keeper = await keepLease(lease, {
    everyMs,
    logger,
    onChange: async (held) => void changes.push(held),
  });
  return { keeper, changes };
}

test('the only process always holds the lease, from the start', async () => {
  const { keeper, changes } = await kept(new SoleProcessLease(), 50);
  assert.deepEqual(changes, [true], 'held before keepLease resolved');
  await keeper.stop();
  assert.deepEqual(changes, [true, false]);
});

describe('Redis lease', { skip: skipRedis }, () => {
  const url = process.env.REDIS_URL!;
  const lease = (key: string, ttlMs: number) => new RedisLease(connectRedis(url), key, ttlMs);

  test('one holder; a holder that died frees it after its time to live', async () => {
    const key = `test-lease:${randomUUID()}`;
    const a = lease(key, 600);
    const b = lease(key, 600);
    try {
      assert.equal(await a.acquire(), true);
      assert.equal(await a.acquire(), true, 'taking it again keeps it');
      assert.equal(await b.acquire(), false);
      assert.equal(await b.renew(), false, 'a standby cannot extend what it does not hold');
      assert.equal(await a.renew(), true);
      const died = Date.now();
      await a.close(); // gone without giving it up
      await waitFor(() => b.acquire(), 5_000);
      assert.ok(Date.now() - died >= 400, 'not before the time to live ran out');
      // b gives it up on a clean stop: the next one need not wait.
      await b.release();
      const c = lease(key, 600);
      assert.equal(await c.acquire(), true);
      await c.release();
      await c.close();
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a holder whose key went to another process loses it at the next renew', async () => {
    const key = `test-lease:${randomUUID()}`;
    const { keeper, changes } = await kept(lease(key, 3_000), 100);
    const redis = connectRedis(url);
    try {
      assert.equal(keeper.held(), true);
      await redis.set(key, 'someone-else', 'PX', 3_000);
      await waitFor(async () => changes.length === 2, 2_000);
      assert.deepEqual(changes, [true, false]);
      assert.equal(keeper.held(), false);
    } finally {
      await keeper.stop();
      // The stop gave up nothing that is not its own.
      assert.equal(await redis.get(key), 'someone-else');
      await redis.del(key);
      redis.disconnect();
    }
  });

  test('a standby keeper takes over when the holder stops', async () => {
    const key = `test-lease:${randomUUID()}`;
    const first = await kept(lease(key, 3_000), 100);
    const second = await kept(lease(key, 3_000), 100);
    try {
      assert.deepEqual([first.changes, second.changes], [[true], []]);
      const stopped = Date.now();
      await first.keeper.stop();
      await waitFor(async () => second.keeper.held(), 2_000);
      // Given up on the stop: no wait for the 3 s time to live.
      assert.ok(Date.now() - stopped < 1_000);
    } finally {
      await first.keeper.stop();
      await second.keeper.stop();
    }
  });
});

describe('PostgreSQL lease', { skip: skipPostgres }, () => {
  const url = process.env.DATABASE_URL!;

  test('one holder; the lock goes with the holder session, at once', async () => {
    const name = `test-lease:${randomUUID()}`;
    const a = new PostgresLease(url, name);
    const b = new PostgresLease(url, name);
    try {
      assert.equal(await a.acquire(), true);
      assert.equal(await a.acquire(), true, 'taking it again keeps it');
      assert.equal(await b.acquire(), false);
      assert.equal(await b.renew(), false);
      assert.equal(await a.renew(), true);
      // The holder's session is ended from outside (a crash, a cut connection).
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_locks
          WHERE locktype = 'advisory' AND objid = (hashtextextended($1, 0) & x'ffffffff'::bigint)::oid
            AND pid <> pg_backend_pid()`,
        [name],
      );
      await admin.end();
      // The holder learns that its session is gone (an error, or false once it saw the close).
      await waitFor(async () => !(await a.renew().catch(() => false)), 2_000);
      assert.equal(await a.renew(), false);
      assert.equal(await b.acquire(), true);
      await b.release();
      assert.equal(await a.acquire(), true, 'released: the other takes it again');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
