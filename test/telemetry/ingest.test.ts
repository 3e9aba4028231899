// Telemetry over HTTP and the embedded MQTT broker: validation, duplicates, rollups, CSV, access.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { connectAsync } from 'mqtt';
import { createDevice, createFarm, createUnit } from '../farms/helpers.ts';
import { startTestApp, signedInUser, type TestApp, type TestUser } from '../support/app.ts';
import { countReadings, counterValue, okStatus, post, waitFor } from './helpers.ts';

let t: TestApp;
let owner: TestUser;
let outsider: TestUser;
let farmId: string;
let unitId: string;
let device: { id: string; api_key: string };

before(async () => {
  // The embedded broker on a free port, even when MQTT_URL is set for the other suites.
  t = await startTestApp({ overrides: { MQTT_URL: '' } });
  owner = await signedInUser(t, 'operator');
  outsider = await signedInUser(t, 'operator');
  farmId = await createFarm(t, owner);
  unitId = await createUnit(t, owner, farmId);
  device = await createDevice(t, owner, unitId);
});
after(() => t.close());

describe('HTTP ingest', () => {
  test('valid readings are stored; invalid ones are rejected by index, counted, never stored', async () => {
    const base = Date.now() - 60_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const res = await post(t, device.api_key, [
      { metric: 'temperature', value: 26.5, ts: iso(base) },
      { metric: 'ph', value: 20, ts: iso(base) },
      { metric: 'dissolved_oxygen', value: -1, ts: iso(base) },
      { metric: 'dissolved_oxygen', value: 'NaN', ts: iso(base) },
      { metric: 'chlorophyll', value: 3, ts: iso(base) },
      { metric: 'temperature', value: 80, unit: 'F', ts: iso(base + 1) },
      { metric: 'salinity', value: 1, ts: iso(Date.now() + 3_600_000) },
      { metric: 'dissolved_oxygen', value: 6.1, unit: 'mg/L', ts: iso(base) },
      { metric: 'ph', value: 7.4 },
    ]);
    assert.equal(res.statusCode, okStatus(), res.body);
    const body = res.json();
    assert.equal(body.accepted, 3);
    assert.equal(body.rejected, 6);
    assert.equal(body.durability, okStatus() === 200 ? 'stored' : 'stream');
    assert.deepEqual(
      body.errors.map((e: { index: number }) => e.index),
      [1, 2, 3, 4, 5, 6],
    );
    assert.match(body.errors[0].reason, /physically impossible/);
    assert.match(body.errors[3].reason, /unknown metric/);
    assert.match(body.errors[4].reason, /unit of measure/);
    assert.match(body.errors[5].reason, /future/);
    assert.equal(await countReadings(t, unitId), 3);
    const rejected = await counterValue(t, 'aquaml_telemetry_readings_rejected_total');
    assert.equal(rejected, 6);
  });

  test('a repeated (device, metric, ts) is stored once and counted once in the rollups', async () => {
    const ts = new Date(Date.now() - 120_000).toISOString();
    const before = await countReadings(t, unitId);
    for (let i = 0; i < 3; i++) {
      const res = await post(t, device.api_key, [
        { metric: 'nitrate', value: 12, ts },
        { metric: 'nitrate', value: 12, ts },
      ]);
      assert.equal(res.statusCode, okStatus());
    }
    assert.equal(await countReadings(t, unitId), before + 1);
    const rollup = await t.ctx.db.execute(
      sql`select sum(count)::int as n from reading_rollups_minute where unit_id = ${unitId} and metric = 'nitrate'`,
    );
    assert.equal((rollup as unknown as { rows: { n: number }[] }).rows[0]!.n, 1);
  });

  test('a user key or no key cannot post readings', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/telemetry',
      headers: owner.headers,
      payload: { readings: [{ metric: 'ph', value: 7 }] },
    });
    assert.equal(res.statusCode, 403);
    const none = await t.app.inject({
      method: 'POST',
      url: '/api/v1/telemetry',
      payload: { readings: [] },
    });
    assert.equal(none.statusCode, 401);
  });
});

describe('series and export', () => {
  test('readings come back per step from raw, minute and hour tables', async () => {
    const start = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000;
    const readings = [];
    // One reading every 30 s for two hours: 240 readings, 2 per minute, 120 per hour.
    for (let i = 0; i < 240; i++) {
      readings.push({
        metric: 'turbidity',
        value: i % 2 ? 10 : 20,
        ts: new Date(start + i * 30_000).toISOString(),
      });
    }
    assert.equal((await post(t, device.api_key, readings)).json().accepted, 240);
    const q = (step: string) =>
      t.app.inject({
        url: `/api/v1/units/${unitId}/readings?metric=turbidity&from=${new Date(start).toISOString()}&to=${new Date(start + 2 * 3_600_000).toISOString()}&step=${step}`,
        headers: owner.headers,
      });
    const hourly = (await q('1h')).json();
    assert.equal(hourly.source, 'hour');
    assert.deepEqual(
      hourly.items.map((p: { count: number; min: number; max: number; mean: number }) => [
        p.count,
        p.min,
        p.max,
        p.mean,
      ]),
      [
        [120, 10, 20, 15],
        [120, 10, 20, 15],
      ],
    );
    assert.equal(hourly.items[0].ts, new Date(start).toISOString());
    const tenMin = (await q('10m')).json();
    assert.equal(tenMin.source, 'minute');
    assert.equal(tenMin.items.length, 12);
    assert.equal(tenMin.items[0].count, 20);
    const raw = (await q('30s')).json();
    assert.equal(raw.source, 'raw');
    assert.equal(raw.items.length, 240);
    const auto = (await q('auto')).json();
    assert.ok(auto.items.length <= 720 && auto.items.length > 0);
    const tooMany = await q('1s');
    assert.equal(tooMany.statusCode, 400);
    assert.match(tooMany.body, /points/);

    const csv = await t.app.inject({
      url: `/api/v1/units/${unitId}/readings.csv?metric=turbidity&from=${new Date(start).toISOString()}&to=${new Date(start + 60_000).toISOString()}`,
      headers: owner.headers,
    });
    assert.equal(csv.statusCode, 200);
    assert.match(csv.headers['content-type'] as string, /text\/csv/);
    const lines = csv.body.trim().split('\n');
    assert.equal(lines[0], 'ts,metric,value,device_id');
    assert.deepEqual(lines.slice(1), [
      `${new Date(start).toISOString()},turbidity,20,${device.id}`,
      `${new Date(start + 30_000).toISOString()},turbidity,10,${device.id}`,
    ]);
  });

  test('a non-member gets 404 on the readings, export, stream, thresholds and alerts of a farm', async () => {
    for (const url of [
      `/api/v1/units/${unitId}/readings?metric=ph`,
      `/api/v1/units/${unitId}/readings.csv`,
      `/api/v1/units/${unitId}/readings/stream`,
      `/api/v1/units/${unitId}/thresholds`,
      `/api/v1/alerts?farm=${farmId}`,
    ]) {
      const res = await t.app.inject({ url, headers: outsider.headers });
      assert.equal(res.statusCode, 404, `${url}: ${res.body}`);
    }
  });
});

describe('MQTT (embedded broker)', () => {
  test('a reading published by a signed-in device is stored within 1 s', async () => {
    const port = t.ctx.telemetry.mqttPort();
    assert.ok(port);
    const client = await connectAsync(`mqtt://127.0.0.1:${port}`, {
      username: device.id,
      password: device.api_key,
      reconnectPeriod: 0,
    });
    try {
      const ts = new Date(Date.now() - 5_000).toISOString();
      const sent = Date.now();
      await client.publishAsync(
        `aquaml/${farmId}/${unitId}/${device.id}/salinity`,
        JSON.stringify({ value: 0.4, ts }),
        { qos: 1 },
      );
      await client.publishAsync(`aquaml/${farmId}/${unitId}/${device.id}/nitrite`, '0.05', {
        qos: 1,
      });
      await waitFor(async () => (await countReadings(t, unitId, 'salinity')) === 1, 1_000);
      await waitFor(async () => (await countReadings(t, unitId, 'nitrite')) === 1, 1_000);
      assert.ok(Date.now() - sent < 1_000);
      // pH 20 is refused and counted, the connection stays.
      await client.publishAsync(`aquaml/${farmId}/${unitId}/${device.id}/ph`, '20', { qos: 1 });
      assert.equal(await countReadings(t, unitId, 'ph', 20), 0);
    } finally {
      await client.endAsync();
    }
  });

  test('a wrong key is refused at sign-in; a foreign topic ends the session', async () => {
    const port = t.ctx.telemetry.mqttPort();
    await assert.rejects(
      connectAsync(`mqtt://127.0.0.1:${port}`, {
        username: device.id,
        password: 'aqd_wrong',
        reconnectPeriod: 0,
      }),
    );
    const other = await createUnit(t, owner, farmId);
    const client = await connectAsync(`mqtt://127.0.0.1:${port}`, {
      username: device.id,
      password: device.api_key,
      reconnectPeriod: 0,
    });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish(`aquaml/${farmId}/${other}/${device.id}/ph`, '7', { qos: 1 });
    await closed;
    await client.endAsync(true);
    assert.equal(await countReadings(t, other), 0);
  });
});
