// Rules on simulated water: an oxygen crash opens one critical alert within the rule's duration and
// resolves once oxygen recovers, noise near the limit does not flap; silent devices; the alerts API.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createDevice, createFarm, createUnit } from '../farms/helpers.ts';
import { startTestApp, signedInUser, type TestApp, type TestUser } from '../support/app.ts';
import { signPayload } from '../../src/modules/alerts/webhooks.ts';
import { UnitSimulator } from '../../src/modules/telemetry/simulator/model.ts';
import { post, waitFor } from './helpers.ts';

const MIN_DURATION_MS = 60_000;
const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
const hook = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    received.push({ headers: req.headers, body });
    // The first delivery fails, so the retry is exercised.
    res.statusCode = received.length === 1 ? 503 : 204;
    res.end();
  });
});

let t: TestApp;
let owner: TestUser;
let outsider: TestUser;
let farmId: string;
let unitId: string;
let device: { id: string; api_key: string };

before(async () => {
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const port = (hook.address() as { port: number }).port;
  t = await startTestApp({
    overrides: {
      AQUAML_RULE_MIN_DURATION_MS: String(MIN_DURATION_MS),
      AQUAML_RULE_DEVICE_SILENT_MS: '1000',
      AQUAML_ALERT_WEBHOOK_URLS: `http://127.0.0.1:${port}/hook`,
      AQUAML_ALERT_WEBHOOK_SECRET: 'test-secret-test-secret',
      AQUAML_ALERT_WEBHOOK_ATTEMPTS: '3',
    },
  });
  owner = await signedInUser(t, 'operator');
  outsider = await signedInUser(t, 'viewer');
  farmId = await createFarm(t, owner);
  unitId = await createUnit(t, owner, farmId, { species: 'nile-tilapia' });
  device = await createDevice(t, owner, unitId);
});
after(async () => {
  await t.close();
  hook.close();
});

async function alertsOf(user: TestUser, query = '') {
  const res = await t.app.inject({
    url: `/api/v1/alerts?farm=${farmId}${query}`,
    headers: user.headers,
  });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().items as {
    id: string;
    kind: string;
    severity: string;
    state: string;
    metric: string;
    unit_id: string;
    opened_at: string;
    resolved_at: string | null;
    device_id: string | null;
  }[];
}

describe('oxygen crash from the simulator', () => {
  test('one critical alert opens within the rule duration and resolves on recovery', async () => {
    const stepMs = 5_000;
    // A fixed time of day (01:00 UTC yesterday), far from the simulator's feedings (08, 12 and 16
    // UTC): a feeding dip is a fast fall too and would rightly raise a second rate-of-change alert.
    const day = 86_400_000;
    const start = Math.floor(Date.now() / day) * day - day + 3_600_000;
    const crashAt = start + 30 * 60_000;
    const sim = new UnitSimulator(
      { temperatureMid: 25, temperatureSwing: 1, salinity: 0.3, ph: 7.5 },
      {
        seed: 7,
        // Three times the usual sensor noise, so readings straddle the limit on the way down and up.
        noise: 3,
        dropoutPerSecond: 0,
        oxygenDriftPerDay: 0,
        crash: {
          at: crashAt,
          fallMs: 4 * 60_000,
          holdMs: 10 * 60_000,
          recoverMs: 4 * 60_000,
          floor: 1.5,
        },
      },
      start,
    );
    const readings: { metric: string; value: number; ts: string }[] = [];
    let firstBelow: number | undefined;
    let lastBelow = 0;
    for (let ts = start; ts < start + 80 * 60_000; ts += stepMs) {
      const value = sim.read('dissolved_oxygen', ts)!;
      if (value < 4) {
        firstBelow ??= ts;
        lastBelow = ts;
      }
      readings.push({ metric: 'dissolved_oxygen', value, ts: new Date(ts).toISOString() });
    }
    assert.ok(firstBelow, 'the crash goes below the species minimum');
    for (let i = 0; i < readings.length; i += 200) {
      const res = await post(t, device.api_key, readings.slice(i, i + 200));
      assert.equal(res.json().accepted, Math.min(200, readings.length - i));
    }
    // With REDIS_URL the rules see the readings from the stream a moment after they are stored.
    await waitFor(async () => {
      await t.ctx.telemetry.rules.settle();
      const found = await alertsOf(owner, '&kind=water_quality');
      return found.length > 0 && found.every((a) => a.state === 'resolved');
    }, 10_000);

    const quality = await alertsOf(owner, '&kind=water_quality');
    assert.equal(quality.length, 1, JSON.stringify(quality));
    const alert = quality[0]!;
    assert.equal(alert.severity, 'critical');
    assert.equal(alert.metric, 'dissolved_oxygen');
    assert.equal(alert.unit_id, unitId);
    assert.equal(alert.state, 'resolved');
    const opened = Date.parse(alert.opened_at);
    // Opened at the start of the excursion that lasted the rule's duration: after the first low
    // reading, and the duration after it within the crash's fall.
    assert.ok(opened >= firstBelow! && opened <= crashAt + 4 * 60_000, alert.opened_at);
    const resolved = Date.parse(alert.resolved_at!);
    assert.ok(resolved >= lastBelow + MIN_DURATION_MS, `${alert.resolved_at} after recovery`);

    const timeline = await t.app.inject({
      url: `/api/v1/alerts/${alert.id}/timeline`,
      headers: owner.headers,
    });
    assert.deepEqual(
      timeline
        .json()
        .items.map((e: { type: string }) => e.type)
        .filter((x: string) => x !== 'notified'),
      ['opened', 'resolved'],
    );
    // The fast fall also raised a rate-of-change warning.
    const rate = await alertsOf(owner, '&kind=rate_of_change');
    assert.equal(rate.length, 1);
    assert.equal(rate[0]!.severity, 'warning');
  });

  test('webhooks are signed with HMAC-SHA256 and retried', async () => {
    await t.ctx.telemetry.webhooks.drain();
    const ok = received.filter((r) => r.headers['x-aquaml-event'] === 'alert.opened');
    assert.ok(ok.length >= 2, 'the refused delivery was retried');
    for (const r of received) {
      const expected = signPayload(
        'test-secret-test-secret',
        r.headers['x-aquaml-timestamp'] as string,
        r.body,
      );
      assert.equal(r.headers['x-aquaml-signature'], expected);
    }
    const first = JSON.parse(ok[0]!.body);
    assert.equal(first.alert.farm_id, farmId);
  });
});

describe('alerts API', () => {
  test('acknowledge and resolve an alert; non-members get 404; viewers may not act', async () => {
    // A second sensor that never speaks becomes a silent-device alert.
    const quiet = await createDevice(t, owner, unitId);
    await new Promise((r) => setTimeout(r, 1_100));
    await t.ctx.telemetry.silence.check();
    const open = await alertsOf(owner, '&state=open&kind=device_silent');
    const silent = open.find((a) => a.device_id === quiet.id);
    assert.ok(silent, JSON.stringify(open));

    const url = `/api/v1/alerts/${silent.id}`;
    assert.equal((await t.app.inject({ url, headers: outsider.headers })).statusCode, 404);
    const list = await t.app.inject({ url: '/api/v1/alerts', headers: outsider.headers });
    assert.equal(
      list.json().items.filter((a: { farm_id: string }) => a.farm_id === farmId).length,
      0,
    );

    const operator = await signedInUser(t, 'viewer');
    const add = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/farms/${farmId}/members/${operator.id}`,
      headers: owner.headers,
      payload: { role: 'viewer' },
    });
    assert.equal(add.statusCode, 204, add.body);
    const denied = await t.app.inject({
      method: 'POST',
      url: `${url}/acknowledge`,
      headers: operator.headers,
      payload: {},
    });
    assert.equal(denied.statusCode, 403);

    const ack = await t.app.inject({
      method: 'POST',
      url: `${url}/acknowledge`,
      headers: owner.headers,
      payload: { note: 'checking the cable' },
    });
    assert.equal(ack.statusCode, 200, ack.body);
    assert.equal(ack.json().state, 'acknowledged');
    assert.equal(ack.json().acknowledged_by, owner.id);

    // The device speaks again: the rule resolves its alert.
    await post(t, quiet.api_key, [{ metric: 'ph', value: 7.5 }]);
    await waitFor(async () => {
      const res = await t.app.inject({ url, headers: owner.headers });
      return res.json().state === 'resolved';
    }, 5_000);
    const again = await t.app.inject({
      method: 'POST',
      url: `${url}/acknowledge`,
      headers: owner.headers,
      payload: {},
    });
    assert.equal(again.statusCode, 409);
    const timeline = await t.app.inject({ url: `${url}/timeline`, headers: owner.headers });
    assert.deepEqual(
      timeline
        .json()
        .items.map((e: { type: string }) => e.type)
        .filter((x: string) => x !== 'notified'),
      ['opened', 'acknowledged', 'resolved'],
    );
  });

  test('model alerts are listed for operators and admins, not for viewers', async () => {
    await t.ctx.telemetry.alerts.open({
      ruleKey: 'test:model',
      kind: 'water_quality',
      severity: 'info',
      farmId,
      unitId,
      message: 'x',
      details: {},
      openedAt: new Date(),
    });
    const { alerts } = await import('../../src/db/schema.ts');
    await t.ctx.db.insert(alerts).values({
      kind: 'model_drift',
      severity: 'warning',
      source: 'model:species@1',
      message: 'drift',
    });
    const viewer = await signedInUser(t, 'viewer');
    const operator = await signedInUser(t, 'operator');
    const kinds = async (u: TestUser) =>
      (await t.app.inject({ url: '/api/v1/alerts?kind=model_drift', headers: u.headers })).json()
        .items.length;
    assert.equal(await kinds(viewer), 0);
    assert.equal(await kinds(operator), 1);
  });
});
