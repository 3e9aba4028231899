// PostgreSQL killed and restarted under load (issue 15): a disposable cluster of this test's own
// (initdb + pg_ctl on a free port; as the postgres user when running as root) under `aquaml
// serve`. While it is down, requests fail cleanly (503 + Retry-After, problem+json; never a hang
// or a crash); when it is back the pool reconnects by itself; and every reading and prediction that
// was acknowledged is stored, none twice.
import assert from 'node:assert/strict';
import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { shippedModelSkip } from '../support/models.ts';
import { connect, serverEnv, startServer } from './support/api.ts';
import { postgresSkip, sleep, startPostgres, waitUntil } from './support/services.ts';

test(
  'PostgreSQL killed mid-load: clean failures, the pool reconnects, acknowledged writes are all stored',
  { skip: postgresSkip || shippedModelSkip, timeout: 300_000 },
  async () => {
    const pg = await startPostgres();
    const dataDir = mkdtempSync(join(tmpdir(), 'aquaml-pgfault-'));
    const { admin, env } = serverEnv(dataDir, {
      DATABASE_URL: pg.url,
      // No Redis: readings are written to the database before the answer (200).
      REDIS_URL: '',
    });
    const server = await startServer(env, { waitFor: '/ready' });
    let loading = true;
    try {
      const api = await connect(server, admin, 'create');
      const predictions: string[] = [];
      const readings: number[] = [];
      const statuses = new Map<number, number>();
      const count = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);
      const checkFailure = async (res: Response) => {
        const body = await res.text();
        // A clean failure: a problem+json answer, not a dropped connection.
        assert.match(String(res.headers.get('content-type')), /problem\+json/, body);
      };
      let seed = 1000;
      let value = 0;
      const base = Date.now() - 60_000;
      const classifier = (async () => {
        while (loading) {
          const res = await api.classify(seed++);
          count(res.status);
          if (res.status === 200) {
            predictions.push(((await res.json()) as { prediction_id: string }).prediction_id);
          } else await checkFailure(res);
        }
      })();
      const sensor = (async () => {
        while (loading) {
          const i = value++;
          const res = await api.postReadings([
            {
              metric: 'temperature',
              value: 20 + i / 1000,
              ts: new Date(base + i * 10).toISOString(),
            },
          ]);
          count(res.status);
          if (res.status === 200) readings.push(i);
          else await checkFailure(res);
          await sleep(20);
        }
      })();
      await sleep(1500);
      await pg.kill();
      const downAt = Date.now();
      await sleep(3000);
      // A request during the outage fails cleanly within a bounded time.
      const t0 = Date.now();
      const during = await api.request('/api/v1/farms');
      assert.equal(during.status, 503);
      assert.ok(Number(during.headers.get('retry-after')) >= 1, 'Retry-After');
      await checkFailure(during);
      assert.ok(Date.now() - t0 < 15_000, 'a request hung while the database was down');
      assert.equal((await fetch(`${api.url}/health`)).status, 200, 'the process is alive');
      await pg.start();
      await waitUntil(
        'requests to succeed again',
        async () => (await api.request('/api/v1/farms')).status === 200,
        60_000,
        500,
      );
      await sleep(1500);
      loading = false;
      await Promise.all([classifier, sensor]);
      const failed = [...statuses].filter(([s]) => s !== 200).reduce((n, [, c]) => n + c, 0);
      process.stdout.write(
        `# statuses: ${JSON.stringify(Object.fromEntries(statuses))}; down ${Math.round((Date.now() - downAt) / 1000)} s\n`,
      );
      assert.ok(failed > 0, 'the outage was noticed');

      // Every acknowledged prediction is stored, once.
      const history = (await (
        await api.request('/api/v1/predictions/history?limit=500')
      ).json()) as { items: { id: string }[]; total: number };
      const stored = new Set(history.items.map((p) => p.id));
      const lost = predictions.filter((id) => !stored.has(id));
      assert.deepEqual(
        lost,
        [],
        `${lost.length} of ${predictions.length} acknowledged predictions lost`,
      );
      // Every acknowledged reading is stored, once.
      const csv = await (
        await api.request(
          `/api/v1/units/${api.unitId}/readings.csv?metric=temperature&from=${new Date(base - 1000).toISOString()}`,
        )
      ).text();
      const values = csv
        .trim()
        .split('\n')
        .slice(1)
        .map((r) => r.split(',')[2]!);
      assert.equal(new Set(values).size, values.length, 'a reading was stored twice');
      const have = new Set(values.map(Number));
      const missing = readings.filter((i) => !have.has(20 + i / 1000));
      assert.deepEqual(
        missing,
        [],
        `${missing.length} of ${readings.length} acknowledged readings lost`,
      );
    } finally {
      loading = false;
      await server.stop();
      await pg.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
);
