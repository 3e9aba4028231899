// Operational logs per unit: each kind with its fields, who and when, paging, corrections, deletion.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { signedInUser, startTestApp, type TestApp, type TestUser } from '../support/app.ts';
import { addMember, createFarm, createUnit } from './helpers.ts';

let t: TestApp;
let manager: TestUser;
let operator: TestUser;
let unitId: string;
let otherUnitId: string;

before(async () => {
  t = await startTestApp();
  manager = await signedInUser(t, 'operator');
  operator = await signedInUser(t, 'viewer');
  const farmId = await createFarm(t, manager);
  unitId = await createUnit(t, manager, farmId);
  otherUnitId = await createUnit(t, manager, farmId);
  await addMember(t, manager, farmId, operator.id, 'operator');
});
after(() => t.close());

function post(body: Record<string, unknown>, user = manager, unit = unitId) {
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/units/${unit}/logs`,
    headers: user.headers,
    payload: body,
  });
}

test('every kind of entry is recorded with who and when', async () => {
  const entries = [
    { kind: 'mortality', count: 4, cause: 'low oxygen' },
    { kind: 'feeding', feed_kg: 12.5, feed_type: 'grower 4 mm' },
    { kind: 'growth_sample', count: 25, mean_weight_g: 142.3 },
    { kind: 'treatment', product: 'salt', dose: '3 g/L', cause: 'ich' },
    { kind: 'stocking', count: 500, mean_weight_g: 10 },
    { kind: 'harvest', count: 100, mean_weight_g: 450 },
  ];
  for (const e of entries) {
    const res = await post({ ...e, occurred_at: '2026-03-01T06:00:00.000Z' }, operator);
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json();
    for (const [k, v] of Object.entries(e)) assert.equal(body[k], v, k);
    assert.equal(body.created_by, operator.id);
    assert.equal(body.occurred_at, '2026-03-01T06:00:00.000Z');
  }
  const page = await t.app.inject({
    url: `/api/v1/units/${unitId}/logs?limit=4&offset=0`,
    headers: manager.headers,
  });
  assert.equal(page.json().total, 6);
  assert.equal(page.json().items.length, 4);
  assert.equal(page.json().limit, 4);
  const feedings = await t.app.inject({
    url: `/api/v1/units/${unitId}/logs?kind=feeding`,
    headers: manager.headers,
  });
  assert.equal(feedings.json().total, 1);
  assert.equal(feedings.json().items[0].feed_kg, 12.5);
});

test('a missing field of the kind, or a date ahead of the clock, is a 400 naming the field', async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ kind: 'mortality' }, 'body.count'],
    [{ kind: 'feeding', feed_type: 'x' }, 'body.feed_kg'],
    [{ kind: 'growth_sample', count: 10 }, 'body.mean_weight_g'],
    [{ kind: 'treatment' }, 'body.product'],
    [{ kind: 'mortality', count: 1, occurred_at: '2999-01-01T00:00:00Z' }, 'body.occurred_at'],
    [{ kind: 'feeding', feed_kg: -3 }, 'body.feed_kg'],
  ];
  for (const [body, field] of cases) {
    const res = await post(body);
    assert.equal(res.statusCode, 400, JSON.stringify(body));
    assert.equal(res.json().errors[0].field, field, JSON.stringify(body));
  }
  const before = await t.app.inject({
    url: `/api/v1/units/${otherUnitId}/logs`,
    headers: manager.headers,
  });
  assert.equal(before.json().total, 0);
});

test('an entry is corrected (who and when recorded) and deleted', async () => {
  const created = (await post({ kind: 'mortality', count: 3 })).json();
  const patched = await t.app.inject({
    method: 'PATCH',
    url: `/api/v1/units/${unitId}/logs/${created.id}`,
    headers: operator.headers,
    payload: { count: 5, cause: 'predation' },
  });
  assert.equal(patched.statusCode, 200, patched.body);
  assert.equal(patched.json().count, 5);
  assert.equal(patched.json().cause, 'predation');
  assert.equal(patched.json().created_by, manager.id);
  assert.equal(patched.json().updated_by, operator.id);
  const cleared = await t.app.inject({
    method: 'PATCH',
    url: `/api/v1/units/${unitId}/logs/${created.id}`,
    headers: operator.headers,
    payload: { count: null },
  });
  assert.equal(cleared.statusCode, 400);

  // Through another unit's path the entry does not exist.
  const wrongUnit = await t.app.inject({
    url: `/api/v1/units/${otherUnitId}/logs/${created.id}`,
    headers: manager.headers,
  });
  assert.equal(wrongUnit.statusCode, 404);

  const del = await t.app.inject({
    method: 'DELETE',
    url: `/api/v1/units/${unitId}/logs/${created.id}`,
    headers: operator.headers,
  });
  assert.equal(del.statusCode, 204);
  const gone = await t.app.inject({
    url: `/api/v1/units/${unitId}/logs/${created.id}`,
    headers: manager.headers,
  });
  assert.equal(gone.statusCode, 404);
});
