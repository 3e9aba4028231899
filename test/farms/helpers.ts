import assert from 'node:assert/strict';
import type { TestApp, TestUser } from '../support/app.ts';

export async function createFarm(t: TestApp, user: TestUser, name = 'Lakeside'): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/farms',
    headers: user.headers,
    payload: { name, location: 'Lake Volta' },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().id;
}

export async function createUnit(
  t: TestApp,
  user: TestUser,
  farmId: string,
  body: Record<string, unknown> = {},
): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: `/api/v1/farms/${farmId}/units`,
    headers: user.headers,
    payload: {
      name: `tank-${Math.random().toString(36).slice(2, 8)}`,
      kind: 'tank',
      species: 'nile-tilapia',
      ...body,
    },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().id;
}

export async function createDevice(
  t: TestApp,
  user: TestUser,
  unitId: string,
  kind: 'sensor' | 'camera' = 'sensor',
): Promise<{ id: string; api_key: string }> {
  const res = await t.app.inject({
    method: 'POST',
    url: `/api/v1/units/${unitId}/devices`,
    headers: user.headers,
    payload: { name: `${kind}-1`, kind },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json();
}

export async function addMember(
  t: TestApp,
  manager: TestUser,
  farmId: string,
  userId: string,
  role: 'manager' | 'operator' | 'viewer',
): Promise<void> {
  const res = await t.app.inject({
    method: 'PUT',
    url: `/api/v1/farms/${farmId}/members/${userId}`,
    headers: manager.headers,
    payload: { role },
  });
  assert.equal(res.statusCode, 204, res.body);
}
