import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { signedInUser, startTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp({
    overrides: { AQUAML_RATE_LIMIT_MAX: '3', AQUAML_RATE_LIMIT_API_KEY_MAX: '5' },
  });
});
after(() => t.close());

test('each user gets AQUAML_RATE_LIMIT_MAX requests per window, then 429 with Retry-After', async () => {
  const a = await signedInUser(t, 'viewer');
  const b = await signedInUser(t, 'viewer');
  for (let i = 0; i < 3; i++) {
    assert.equal(
      (await t.app.inject({ url: '/api/v1/species/', headers: a.headers })).statusCode,
      200,
    );
  }
  const limited = await t.app.inject({ url: '/api/v1/species/', headers: a.headers });
  assert.equal(limited.statusCode, 429);
  assert.match(String(limited.headers['content-type']), /problem\+json/);
  assert.ok(Number(limited.headers['retry-after']) > 0);
  assert.match(limited.json().detail, /Rate limit/);
  // Another user has a budget of their own; probes are never limited.
  assert.equal(
    (await t.app.inject({ url: '/api/v1/species/', headers: b.headers })).statusCode,
    200,
  );
  assert.equal((await t.app.inject('/health')).statusCode, 200);
});

test('API keys (cameras, sensors) have their own, larger budget', async () => {
  const admin = await signedInUser(t, 'admin');
  const key = (
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/api-keys/',
      headers: admin.headers,
      payload: { name: 'cam', role: 'viewer' },
    })
  ).json().key;
  const codes = [];
  for (let i = 0; i < 6; i++) {
    codes.push(
      (await t.app.inject({ url: '/api/v1/species/', headers: { 'x-api-key': key } })).statusCode,
    );
  }
  assert.deepEqual(codes, [200, 200, 200, 200, 200, 429]);
});
