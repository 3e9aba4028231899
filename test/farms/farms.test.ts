// Farms, units and devices over HTTP: CRUD, membership (non-members see 404), device keys.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, signedInUser, type TestApp, type TestUser } from '../support/app.ts';
import { addMember, createDevice, createFarm, createUnit } from './helpers.ts';

let t: TestApp;
let owner: TestUser;
let outsider: TestUser;
let admin: TestUser;
before(async () => {
  t = await startTestApp();
  owner = await signedInUser(t, 'operator');
  outsider = await signedInUser(t, 'operator');
  admin = await signedInUser(t, 'admin');
});
after(() => t.close());

describe('farms and units', () => {
  test('create, list, get, update and delete a farm with units', async () => {
    const farmId = await createFarm(t, owner, 'North site');
    const unitId = await createUnit(t, owner, farmId, {
      name: 'Pond A',
      kind: 'pond',
      volume_m3: 1200,
      stocked_count: 5000,
      stocked_mean_weight_g: 12.5,
      stocked_at: '2026-01-01T00:00:00.000Z',
    });

    const list = await t.app.inject({ url: '/api/v1/farms', headers: owner.headers });
    assert.equal(list.statusCode, 200);
    const mine = list.json().items.find((f: { id: string }) => f.id === farmId);
    assert.equal(mine.role, 'manager');
    assert.equal(mine.unit_count, 1);

    const unit = await t.app.inject({ url: `/api/v1/units/${unitId}`, headers: owner.headers });
    assert.equal(unit.statusCode, 200);
    assert.equal(unit.json().species, 'nile-tilapia');
    assert.equal(unit.json().kind, 'pond');
    assert.equal(unit.json().stocked_count, 5000);

    // Creating a stocked unit logs the stocking (the KPIs count fish from the log).
    const logs = await t.app.inject({
      url: `/api/v1/units/${unitId}/logs`,
      headers: owner.headers,
    });
    assert.equal(logs.json().total, 1);
    assert.equal(logs.json().items[0].kind, 'stocking');
    assert.equal(logs.json().items[0].count, 5000);
    assert.equal(logs.json().items[0].created_by, owner.id);

    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/units/${unitId}`,
      headers: owner.headers,
      payload: { species: 'rainbow-trout', volume_m3: 900 },
    });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.json().species, 'rainbow-trout');

    const renamed = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/farms/${farmId}`,
      headers: owner.headers,
      payload: { name: 'North site 2' },
    });
    assert.equal(renamed.json().name, 'North site 2');

    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/farms/${farmId}`,
      headers: owner.headers,
    });
    assert.equal(del.statusCode, 204);
    const gone = await t.app.inject({ url: `/api/v1/units/${unitId}`, headers: owner.headers });
    assert.equal(gone.statusCode, 404);
  });

  test('bad input is a 4xx naming the field', async () => {
    const farmId = await createFarm(t, owner);
    const unknownSpecies = await t.app.inject({
      method: 'POST',
      url: `/api/v1/farms/${farmId}/units`,
      headers: owner.headers,
      payload: { name: 'T1', kind: 'tank', species: 'unicorn-fish' },
    });
    assert.equal(unknownSpecies.statusCode, 400);
    assert.equal(unknownSpecies.json().errors[0].field, 'body.species');
    const badKind = await t.app.inject({
      method: 'POST',
      url: `/api/v1/farms/${farmId}/units`,
      headers: owner.headers,
      payload: { name: 'T1', kind: 'bathtub' },
    });
    assert.equal(badKind.statusCode, 400);
    assert.match(badKind.json().errors[0].field, /^body\.kind/);
    const badZone = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/farms/${farmId}`,
      headers: owner.headers,
      payload: { timezone: 'Mars/Olympus' },
    });
    assert.equal(badZone.statusCode, 400);
    assert.equal(badZone.json().errors[0].field, 'body.timezone');
    // The last manager stays.
    const lastManager = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/farms/${farmId}/members/${owner.id}`,
      headers: owner.headers,
    });
    assert.equal(lastManager.statusCode, 409);
    const demoted = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/farms/${farmId}/members/${owner.id}`,
      headers: owner.headers,
      payload: { role: 'viewer' },
    });
    assert.equal(demoted.statusCode, 409);
    await createUnit(t, owner, farmId, { name: 'T1' });
    const dup = await t.app.inject({
      method: 'POST',
      url: `/api/v1/farms/${farmId}/units`,
      headers: owner.headers,
      payload: { name: 't1', kind: 'tank' },
    });
    assert.equal(dup.statusCode, 409);
  });

  test('a non-member gets 404 on the farm, its units, devices and logs; members by role', async () => {
    const farmId = await createFarm(t, owner);
    const unitId = await createUnit(t, owner, farmId);
    const device = await createDevice(t, owner, unitId);
    const urls = [
      `/api/v1/farms/${farmId}`,
      `/api/v1/farms/${farmId}/units`,
      `/api/v1/farms/${farmId}/members`,
      `/api/v1/farms/${farmId}/logs`,
      `/api/v1/units/${unitId}`,
      `/api/v1/units/${unitId}/devices`,
      `/api/v1/units/${unitId}/logs`,
      `/api/v1/devices/${device.id}`,
    ];
    for (const url of urls) {
      const res = await t.app.inject({ url, headers: outsider.headers });
      assert.equal(res.statusCode, 404, `${url}: ${res.body}`);
      assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    }
    const write = await t.app.inject({
      method: 'POST',
      url: `/api/v1/units/${unitId}/logs`,
      headers: outsider.headers,
      payload: { kind: 'mortality', count: 3 },
    });
    assert.equal(write.statusCode, 404);
    const listed = await t.app.inject({ url: '/api/v1/farms', headers: outsider.headers });
    assert.ok(!listed.json().items.some((f: { id: string }) => f.id === farmId));

    // Admins see every farm.
    for (const url of urls) {
      const res = await t.app.inject({ url, headers: admin.headers });
      assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    }

    // A viewer member reads but cannot write logs; an operator writes logs but cannot add units.
    await addMember(t, owner, farmId, outsider.id, 'viewer');
    const read = await t.app.inject({ url: `/api/v1/units/${unitId}`, headers: outsider.headers });
    assert.equal(read.statusCode, 200);
    const denied = await t.app.inject({
      method: 'POST',
      url: `/api/v1/units/${unitId}/logs`,
      headers: outsider.headers,
      payload: { kind: 'mortality', count: 3 },
    });
    assert.equal(denied.statusCode, 403);
    await addMember(t, owner, farmId, outsider.id, 'operator');
    const logged = await t.app.inject({
      method: 'POST',
      url: `/api/v1/units/${unitId}/logs`,
      headers: outsider.headers,
      payload: { kind: 'mortality', count: 3, cause: 'handling' },
    });
    assert.equal(logged.statusCode, 201, logged.body);
    const addUnit = await t.app.inject({
      method: 'POST',
      url: `/api/v1/farms/${farmId}/units`,
      headers: outsider.headers,
      payload: { name: 'X', kind: 'cage' },
    });
    assert.equal(addUnit.statusCode, 403);

    const members = await t.app.inject({
      url: `/api/v1/farms/${farmId}/members`,
      headers: owner.headers,
    });
    assert.deepEqual(
      members
        .json()
        .items.map((m: { user_id: string; role: string }) => [m.user_id, m.role])
        .sort(),
      [
        [owner.id, 'manager'],
        [outsider.id, 'operator'],
      ].sort(),
    );
    const removed = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/farms/${farmId}/members/${outsider.id}`,
      headers: owner.headers,
    });
    assert.equal(removed.statusCode, 204);
    const after = await t.app.inject({ url: `/api/v1/units/${unitId}`, headers: outsider.headers });
    assert.equal(after.statusCode, 404);
  });
});

describe('device keys', () => {
  test('a device key authenticates as its device, only on device routes, until disabled or rotated', async () => {
    const farmId = await createFarm(t, owner);
    const unitId = await createUnit(t, owner, farmId);
    const device = await createDevice(t, owner, unitId, 'camera');
    assert.match(device.api_key, /^aqd_/);

    const me = await t.app.inject({
      url: '/api/v1/devices/me',
      headers: { 'x-api-key': device.api_key },
    });
    assert.equal(me.statusCode, 200, me.body);
    assert.deepEqual(me.json(), {
      device_id: device.id,
      unit_id: unitId,
      farm_id: farmId,
      kind: 'camera',
      name: 'camera-1',
    });
    const actor = await t.ctx.farms.devices.authenticateDevice(device.api_key, device.id);
    assert.equal(actor?.unitId, unitId);
    assert.equal(await t.ctx.farms.devices.authenticateDevice(device.api_key, unitId), undefined);

    // A device key is not a user: other API routes refuse it; a user cannot call device routes.
    const other = await t.app.inject({
      url: `/api/v1/units/${unitId}`,
      headers: { 'x-api-key': device.api_key },
    });
    assert.equal(other.statusCode, 403);
    const asUser = await t.app.inject({ url: '/api/v1/devices/me', headers: owner.headers });
    assert.equal(asUser.statusCode, 403);

    // The key is never listed again.
    const listed = await t.app.inject({
      url: `/api/v1/units/${unitId}/devices`,
      headers: owner.headers,
    });
    assert.equal(listed.json().items.length, 1);
    assert.ok(!JSON.stringify(listed.json()).includes(device.api_key));

    const disabled = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/devices/${device.id}`,
      headers: owner.headers,
      payload: { enabled: false },
    });
    assert.equal(disabled.json().enabled, false);
    const refused = await t.app.inject({
      url: '/api/v1/devices/me',
      headers: { 'x-api-key': device.api_key },
    });
    assert.equal(refused.statusCode, 401);
    assert.equal(await t.ctx.farms.devices.authenticateDevice(device.api_key), undefined);
    await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/devices/${device.id}`,
      headers: owner.headers,
      payload: { enabled: true },
    });

    const rotated = await t.app.inject({
      method: 'POST',
      url: `/api/v1/devices/${device.id}/rotate-key`,
      headers: owner.headers,
    });
    assert.equal(rotated.statusCode, 200);
    const newKey = rotated.json().api_key;
    assert.notEqual(newKey, device.api_key);
    const oldKey = await t.app.inject({
      url: '/api/v1/devices/me',
      headers: { 'x-api-key': device.api_key },
    });
    assert.equal(oldKey.statusCode, 401);
    const withNew = await t.app.inject({
      url: '/api/v1/devices/me',
      headers: { 'x-api-key': newKey },
    });
    assert.equal(withNew.statusCode, 200);

    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/devices/${device.id}`,
      headers: owner.headers,
    });
    assert.equal(del.statusCode, 204);
    assert.equal(await t.ctx.farms.devices.authenticateDevice(newKey), undefined);
  });

  test('a viewer member cannot create devices; a non-member cannot see them', async () => {
    const farmId = await createFarm(t, owner);
    const unitId = await createUnit(t, owner, farmId);
    const viewer = await signedInUser(t, 'viewer');
    await addMember(t, owner, farmId, viewer.id, 'viewer');
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v1/units/${unitId}/devices`,
      headers: viewer.headers,
      payload: { name: 'probe', kind: 'sensor' },
    });
    assert.equal(res.statusCode, 403);
    const bad = await t.app.inject({
      method: 'POST',
      url: `/api/v1/units/${unitId}/devices`,
      headers: owner.headers,
      payload: { name: 'probe', kind: 'radar' },
    });
    assert.equal(bad.statusCode, 400);
  });
});
