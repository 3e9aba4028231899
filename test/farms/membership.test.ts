// A user who is not a member of a farm gets 404 on its units, readings, alerts and predictions;
// members see them. (The telemetry and alert routes check access through the farm module.)
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { signedInUser, startTestApp, type TestApp, type TestUser } from '../support/app.ts';
import { createDevice, createFarm, createUnit } from './helpers.ts';

let t: TestApp;
let owner: TestUser;
let outsider: TestUser;
let farmId: string;
let unitId: string;
let alertId: string;

before(async () => {
  t = await startTestApp();
  owner = await signedInUser(t, 'operator');
  outsider = await signedInUser(t, 'operator');
  farmId = await createFarm(t, owner);
  unitId = await createUnit(t, owner, farmId);
  const sensor = await createDevice(t, owner, unitId, 'sensor');
  const ts = new Date(Date.now() - 60_000).toISOString();
  const posted = await t.app.inject({
    method: 'POST',
    url: '/api/v1/telemetry',
    headers: { 'x-api-key': sensor.api_key },
    payload: { readings: [{ metric: 'temperature', value: 26.5, ts }] },
  });
  assert.ok([200, 202].includes(posted.statusCode), posted.body);
  await t.ctx.telemetry.alerts.open({
    ruleKey: `test:${unitId}:temperature`,
    kind: 'water_quality',
    severity: 'warning',
    farmId,
    unitId,
    metric: 'temperature',
    message: 'temperature above range',
    details: {},
    openedAt: new Date(),
    value: 31,
  });
  const listed = await t.app.inject({
    url: `/api/v1/alerts?farm=${farmId}`,
    headers: owner.headers,
  });
  alertId = listed.json().items[0].id;
});
after(() => t.close());

test('members see the unit, its readings and alerts', async () => {
  let items: unknown[] = [];
  for (let i = 0; i < 50 && !items.length; i++) {
    const res = await t.app.inject({
      url: `/api/v1/units/${unitId}/readings?metric=temperature&from=${new Date(Date.now() - 3_600_000).toISOString()}`,
      headers: owner.headers,
    });
    assert.equal(res.statusCode, 200, res.body);
    items = res.json().items;
    if (!items.length) await sleep(100);
  }
  assert.equal(items.length, 1);
  const alert = await t.app.inject({ url: `/api/v1/alerts/${alertId}`, headers: owner.headers });
  assert.equal(alert.statusCode, 200);
  assert.equal(alert.json().unit_id, unitId);
});

test('a non-member gets 404 on the farm’s units, readings, alerts and predictions', async () => {
  const from = new Date(Date.now() - 3_600_000).toISOString();
  for (const url of [
    `/api/v1/farms/${farmId}`,
    `/api/v1/units/${unitId}`,
    `/api/v1/units/${unitId}/readings?metric=temperature&from=${from}`,
    `/api/v1/alerts?farm=${farmId}`,
    `/api/v1/alerts/${alertId}`,
    `/api/v1/alerts/${alertId}/timeline`,
    `/api/v1/predictions/history?farm=${farmId}`,
    `/api/v1/predictions/history?unit_id=${unitId}`,
    `/api/v1/units/${unitId}/kpis?from=${from}`,
    `/api/v1/farms/${farmId}/kpis?from=${from}`,
  ]) {
    const res = await t.app.inject({ url, headers: outsider.headers });
    assert.equal(res.statusCode, 404, `${url}: ${res.statusCode} ${res.body}`);
  }
  const ack = await t.app.inject({
    method: 'POST',
    url: `/api/v1/alerts/${alertId}/acknowledge`,
    headers: outsider.headers,
  });
  assert.equal(ack.statusCode, 404);
  const all = await t.app.inject({ url: '/api/v1/alerts', headers: outsider.headers });
  assert.ok(!all.json().items.some((a: { id: string }) => a.id === alertId));
});
