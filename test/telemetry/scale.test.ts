// Scale-out telemetry: two OS processes sharing one Redis stream (PostgreSQL), and the external
// MQTT broker (MQTT_URL, the local Mosquitto) in place of the embedded one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { connectAsync } from 'mqtt';
import { createDevice, createFarm, createUnit } from '../farms/helpers.ts';
import { type RunningServer, startServer } from '../../bench/support/server.ts';
import {
  MONITORING_HEADERS,
  MONITORING_TOKEN,
  signedInUser,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/app.ts';
import { countReadings, counterValue, waitFor } from './helpers.ts';

const missingStreams = ['DATABASE_URL', 'REDIS_URL'].filter((n) => !process.env[n]);
const skipStreams = missingStreams.length
  ? `set ${missingStreams.join(' and ')} to run the shared-stream test (PGlite is single-process)`
  : false;
const skipMqtt = process.env.MQTT_URL ? false : 'set MQTT_URL to run the external-broker test';

describe('two processes on one Redis stream', { skip: skipStreams }, () => {
  // This test's process is one instance; the other is `aquaml api` in an OS process of its own,
  // with its own connections, stream consumer and writer: same database and stream.
  let a: TestApp;
  let b: RunningServer;
  let owner: TestUser;
  before(async () => {
    a = await startTestApp();
    b = await startServer(
      {
        DATABASE_URL: a.config.databaseUrl!,
        REDIS_URL: a.config.redisUrl!,
        AQUAML_REDIS_PREFIX: a.config.redisPrefix,
        AQUAML_METRICS_TOKEN: MONITORING_TOKEN,
        AQUAML_DATA_DIR: a.dataDir,
        MQTT_PORT: '0',
        AQUAML_RATE_LIMIT_MAX: '100000',
      },
      { command: 'api', waitFor: '/ready' },
    );
    owner = await signedInUser(a, 'operator');
  });
  after(async () => {
    await b?.stop();
    await a?.close();
  });

  /** The sum of a counter over its labels, read from the other process's /metrics. */
  async function remoteCounter(name: string): Promise<number> {
    const text = await (await fetch(`${b.url}/metrics`, { headers: MONITORING_HEADERS })).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  }

  test('readings posted to either are stored once each, nothing lost, the writes shared', async () => {
    const farmId = await createFarm(a, owner);
    const unitId = await createUnit(a, owner, farmId);
    const device = await createDevice(a, owner, unitId);
    const start = Date.now() - 2 * 3_600_000;
    let accepted = 0;
    const unique = new Set<number>();
    for (let batch = 0; batch < 20; batch++) {
      const readings = [];
      for (let i = 0; i < 250; i++) {
        // Every batch repeats 50 readings of the one before: duplicates across processes.
        const k = batch * 200 + i;
        unique.add(k);
        readings.push({
          metric: 'temperature',
          value: 20 + (k % 7),
          ts: new Date(start + k * 1000).toISOString(),
        });
      }
      const res =
        batch % 2
          ? await fetch(`${b.url}/api/v1/telemetry`, {
              method: 'POST',
              headers: { 'x-api-key': device.api_key, 'content-type': 'application/json' },
              body: JSON.stringify({ readings }),
            }).then(async (r) => ({ statusCode: r.status, body: await r.text() }))
          : await a.app.inject({
              method: 'POST',
              url: '/api/v1/telemetry',
              headers: { 'x-api-key': device.api_key },
              payload: { readings },
            });
      assert.equal(res.statusCode, 202, res.body);
      const answer = JSON.parse(res.body) as {
        durability: string;
        rejected: number;
        accepted: number;
      };
      assert.equal(answer.durability, 'stream');
      assert.equal(answer.rejected, 0);
      accepted += answer.accepted;
    }
    const WRITTEN = 'aquaml_telemetry_readings_written_total';
    const written = async () => (await counterValue(a, WRITTEN)) + (await remoteCounter(WRITTEN));
    await waitFor(async () => (await written()) >= accepted, 10_000);
    // Give a writer that would take an entry twice the time to do it.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await written(), accepted, 'each stream entry was written by exactly one process');
    const wa = await counterValue(a, WRITTEN);
    const wb = await remoteCounter(WRITTEN);
    assert.ok(wa > 0 && wb > 0, `both processes wrote (${wa}, ${wb})`);
    assert.equal(await countReadings(a, unitId), unique.size);
    const rollup = await a.ctx.db.execute(
      sql`select sum(count)::int as n from reading_rollups_hour where unit_id = ${unitId}`,
    );
    assert.equal((rollup as unknown as { rows: { n: number }[] }).rows[0]!.n, unique.size);
  });
});

describe('external MQTT broker (MQTT_URL)', { skip: skipMqtt }, () => {
  let t: TestApp;
  let owner: TestUser;
  before(async () => {
    t = await startTestApp({ overrides: { MQTT_URL: process.env.MQTT_URL! } });
    owner = await signedInUser(t, 'operator');
  });
  after(() => t?.close());

  test('no embedded broker; a reading published to the broker is stored within 1 s', async () => {
    assert.equal(t.ctx.telemetry.mqttPort(), undefined);
    const farmId = await createFarm(t, owner);
    const unitId = await createUnit(t, owner, farmId);
    const device = await createDevice(t, owner, unitId);
    const client = await connectAsync(process.env.MQTT_URL!, { reconnectPeriod: 0 });
    try {
      const sent = Date.now();
      await client.publishAsync(`aquaml/${farmId}/${unitId}/${device.id}/ph`, '7.1', { qos: 1 });
      await waitFor(async () => (await countReadings(t, unitId, 'ph')) === 1, 1_000);
      assert.ok(Date.now() - sent < 1_000);
      // A topic naming a device of another unit is dropped and counted.
      const other = await createUnit(t, owner, farmId);
      await client.publishAsync(`aquaml/${farmId}/${other}/${device.id}/ph`, '7.2', { qos: 1 });
      await waitFor(
        async () => (await counterValue(t, 'aquaml_telemetry_readings_rejected_total')) >= 1,
        2_000,
      );
      assert.equal(await countReadings(t, other), 0);
    } finally {
      await client.endAsync();
    }
  });
});
