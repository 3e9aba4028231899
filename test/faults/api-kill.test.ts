// The api process SIGKILLed in the middle of sensor ingest (issue 15): every batch of readings
// acknowledged before the kill (200 stored, or 202 on the durable stream when REDIS_URL is set)
// is stored after a restart, none twice. The same for classification is
// test/serving/durable-predictions.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isolatedDatabase } from '../support/app.ts';
import { connect, serverEnv, startServer } from './support/api.ts';
import { waitUntil } from './support/services.ts';

const CLIENTS = 4;
const KILL_AFTER = 40;

test(
  'SIGKILL during ingest: every acknowledged reading is stored after a restart',
  { timeout: 300_000 },
  async () => {
    const db = await isolatedDatabase();
    const { admin, env } = serverEnv(db.dataDir, db.overrides);
    let server = await startServer(env, { waitFor: '/ready' });
    try {
      const first = await connect(server, admin, 'create');
      const base = Date.now() - 600_000;
      const acknowledged: number[] = [];
      let next = 0;
      let killed = false;
      const exited = new Promise((r) => first.server.process.once('exit', r));
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          while (!killed) {
            // Batches of 5 readings, each its own time, so every one is its own row.
            const batch = Array.from({ length: 5 }, () => next++);
            try {
              const res = await first.postReadings(
                batch.map((i) => ({
                  metric: 'ph',
                  value: 6 + (i % 1000) / 1000,
                  ts: new Date(base + i * 100).toISOString(),
                })),
              );
              if (res.status === 200 || res.status === 202) {
                acknowledged.push(...batch);
                if (acknowledged.length >= KILL_AFTER * 5 && !killed) {
                  killed = true;
                  first.server.process.kill('SIGKILL');
                }
              }
            } catch {
              // Cut off by the kill: never acknowledged, nothing owed.
              killed = true;
            }
          }
        }),
      );
      await exited;

      server = await startServer(env, { waitFor: '/ready' });
      const second = await connect(server, admin, {
        unitId: first.unitId,
        sensorKey: first.sensorKey,
      });
      const from = new Date(base - 1000).toISOString();
      const stored = async () => {
        const csv = await (
          await second.request(`/api/v1/units/${second.unitId}/readings.csv?metric=ph&from=${from}`)
        ).text();
        return csv
          .trim()
          .split('\n')
          .slice(1)
          .map((r) => Date.parse(r.split(',')[0]!));
      };
      const wanted = acknowledged.map((i) => base + i * 100);
      // On the durable stream (202) the restarted process stores what the killed one had not yet.
      await waitUntil(
        'every acknowledged reading to be stored',
        async () => {
          const have = new Set(await stored());
          return wanted.every((ts) => have.has(ts));
        },
        30_000,
        500,
      ).catch(async (err: Error) => {
        const have = new Set(await stored());
        const lost = wanted.filter((ts) => !have.has(ts));
        throw new Error(
          `${err.message}: ${lost.length} of ${wanted.length} acknowledged readings lost`,
        );
      });
      const all = await stored();
      assert.equal(new Set(all).size, all.length, 'a reading was stored twice');
      assert.ok(acknowledged.length >= KILL_AFTER * 5, `${acknowledged.length} acknowledged`);
      process.stdout.write(
        `# ${acknowledged.length} readings acknowledged before the kill, all stored\n`,
      );
    } finally {
      if (server.process.exitCode === null && server.process.signalCode === null)
        await server.stop();
      await db.drop();
    }
  },
);
