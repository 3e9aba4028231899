// Cameras post frames that are classified with their unit; predictions are scoped to farm members.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { signedInUser, startTestApp, type TestApp, type TestUser } from '../support/app.ts';
import { imageForm, noisePng } from '../support/images.ts';
import { shippedModelSkip } from '../support/models.ts';
import { createDevice, createFarm, createUnit } from './helpers.ts';

let t: TestApp;
let owner: TestUser;
let outsider: TestUser;
let farmId: string;
let unitId: string;
let camera: { id: string; api_key: string };

before(async () => {
  if (shippedModelSkip) return;
  t = await startTestApp({ serving: true });
  owner = await signedInUser(t, 'operator');
  outsider = await signedInUser(t, 'operator');
  farmId = await createFarm(t, owner);
  unitId = await createUnit(t, owner, farmId, { name: 'Cage 1', kind: 'cage' });
  camera = await createDevice(t, owner, unitId, 'camera');
});
after(() => t?.close());

async function postFrame(key: string, image: Buffer, unit = unitId) {
  const form = imageForm(image);
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/units/${unit}/frames`,
    payload: form.payload,
    headers: { ...form.headers, 'x-api-key': key },
  });
}

function archived(sha: string): boolean {
  return existsSync(join(t.dataDir, 'images', sha.slice(0, 2), sha));
}

describe('camera frames', { skip: shippedModelSkip }, () => {
  test('frames are classified with the unit and counted per species over time', async () => {
    const started = new Date(Date.now() - 1000).toISOString();
    const answers = [];
    for (let i = 0; i < 4; i++) {
      const res = await postFrame(camera.api_key, await noisePng(96, 64, 900 + i));
      assert.equal(res.statusCode, 200, res.body);
      answers.push(res.json());
    }
    const stored = await t.app.inject({
      url: `/api/v1/predictions/history?unit_id=${unitId}`,
      headers: owner.headers,
    });
    assert.equal(stored.statusCode, 200, stored.body);
    assert.equal(stored.json().total, 4);
    for (const item of stored.json().items) {
      assert.equal(item.farm_unit_id, unitId);
      assert.equal(item.farm_id, farmId);
      assert.equal(item.device_id, camera.id);
      assert.equal(item.source, 'camera');
    }

    const expected = new Map<string, number>();
    let unknown = 0;
    for (const a of answers) {
      if (a.status === 'unknown') unknown += 1;
      else expected.set(a.label, (expected.get(a.label) ?? 0) + 1);
    }
    const counts = await t.app.inject({
      url: `/api/v1/units/${unitId}/species-counts?from=${started}&step=1d`,
      headers: owner.headers,
    });
    assert.equal(counts.statusCode, 200, counts.body);
    const body = counts.json();
    assert.equal(body.step_seconds, 86_400);
    assert.equal(body.totals.total, 4);
    assert.equal(body.totals.unknown, unknown);
    assert.equal(body.totals.unknown_rate, unknown / 4);
    assert.deepEqual(
      Object.fromEntries(
        body.totals.species.map((s: { species: string; count: number }) => [s.species, s.count]),
      ),
      Object.fromEntries(expected),
    );
    assert.equal(body.items.length, 1);
    assert.equal(body.items[0].ts, started);
    assert.equal(body.items[0].total, 4);

    const badStep = await t.app.inject({
      url: `/api/v1/units/${unitId}/species-counts?from=2020-01-01T00:00:00Z&step=1s`,
      headers: owner.headers,
    });
    assert.equal(badStep.statusCode, 400);
    assert.equal(badStep.json().errors[0].field, 'querystring.step');
    const hidden = await t.app.inject({
      url: `/api/v1/units/${unitId}/species-counts?from=${started}`,
      headers: outsider.headers,
    });
    assert.equal(hidden.statusCode, 404);
  });

  test('frames are not kept unless configured; other classifications are', async () => {
    const frame = await postFrame(camera.api_key, await noisePng(80, 60, 990));
    const classified = imageForm(await noisePng(80, 60, 991));
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/predictions/classify',
      payload: classified.payload,
      headers: { ...classified.headers, ...owner.headers },
    });
    const sha = res.json().image_sha256;
    for (let i = 0; i < 50 && !archived(sha); i++) await sleep(100);
    assert.ok(archived(sha), 'a classified image is archived');
    assert.equal(archived(frame.json().image_sha256), false);
  });

  test('only a camera of the unit may post frames there', async () => {
    const sensor = await createDevice(t, owner, unitId, 'sensor');
    assert.equal((await postFrame(sensor.api_key, await noisePng(64, 64, 5))).statusCode, 403);
    const otherUnit = await createUnit(t, owner, farmId);
    assert.equal(
      (await postFrame(camera.api_key, await noisePng(64, 64, 6), otherUnit)).statusCode,
      404,
    );
    const asUser = imageForm(await noisePng(64, 64, 7));
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v1/units/${unitId}/frames`,
      payload: asUser.payload,
      headers: { ...asUser.headers, ...owner.headers },
    });
    assert.equal(res.statusCode, 403);
  });
});

describe('prediction history is scoped to farm members', { skip: shippedModelSkip }, () => {
  test('non-members get 404 on a farm unit and never see its predictions', async () => {
    const form = imageForm(await noisePng(72, 72, 4242), { unit_id: unitId });
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/predictions/classify',
      payload: form.payload,
      headers: { ...form.headers, ...owner.headers },
    });
    assert.equal(res.statusCode, 200, res.body);
    const predictionId = res.json().prediction_id;

    // Classifying into a unit of another farm is refused as if it did not exist.
    const foreign = imageForm(await noisePng(72, 72, 4243), { unit_id: unitId });
    const refused = await t.app.inject({
      method: 'POST',
      url: '/api/v1/predictions/classify',
      payload: foreign.payload,
      headers: { ...foreign.headers, ...outsider.headers },
    });
    assert.equal(refused.statusCode, 404);

    // A free-text unit label still works as before.
    const labelled = imageForm(await noisePng(72, 72, 4244), { unit_id: 'pen-7' });
    const free = await t.app.inject({
      method: 'POST',
      url: '/api/v1/predictions/classify',
      payload: labelled.payload,
      headers: { ...labelled.headers, ...outsider.headers },
    });
    assert.equal(free.statusCode, 200, free.body);

    for (const url of [
      `/api/v1/predictions/history?unit_id=${unitId}`,
      `/api/v1/predictions/history?farm=${farmId}`,
      `/api/v1/predictions/stats?farm=${farmId}`,
    ]) {
      const r = await t.app.inject({ url, headers: outsider.headers });
      assert.equal(r.statusCode, 404, url);
    }
    const all = await t.app.inject({
      url: '/api/v1/predictions/history?limit=500',
      headers: outsider.headers,
    });
    const ids = all.json().items.map((i: { id: string }) => i.id);
    assert.ok(!ids.includes(predictionId));
    assert.ok(all.json().items.every((i: { farm_id: string | null }) => i.farm_id === null));
    assert.ok(all.json().items.some((i: { unit_id: string }) => i.unit_id === 'pen-7'));
    const stats = await t.app.inject({
      url: '/api/v1/predictions/stats',
      headers: outsider.headers,
    });
    const mine = await t.app.inject({ url: '/api/v1/predictions/stats', headers: owner.headers });
    assert.ok(stats.json().total < mine.json().total);

    const feedback = await t.app.inject({
      method: 'POST',
      url: `/api/v1/predictions/${predictionId}/feedback`,
      headers: outsider.headers,
      payload: { label: 'unknown' },
    });
    assert.equal(feedback.statusCode, 404);

    const farmHistory = await t.app.inject({
      url: `/api/v1/predictions/history?farm=${farmId}&limit=500`,
      headers: owner.headers,
    });
    assert.ok(farmHistory.json().items.some((i: { id: string }) => i.id === predictionId));
  });
});
