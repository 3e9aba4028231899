import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { desc, eq } from 'drizzle-orm';
import { auditLogs } from '../../src/db/schema.ts';
import { PASSWORD, signedInUser, startTestApp, type TestApp, unique } from '../support/app.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

const json = (
  method: 'POST' | 'GET' | 'PATCH' | 'DELETE',
  url: string,
  payload?: unknown,
  headers = {},
) => t.app.inject({ method, url, payload: payload as object, headers });

function assertProblem(
  res: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  status: number,
) {
  assert.equal(res.statusCode, status);
  assert.match(String(res.headers['content-type']), /application\/problem\+json/);
  const body = res.json() as Record<string, unknown>;
  assert.equal(body.status, status);
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.detail, 'string');
  assert.equal(typeof body.request_id, 'string');
  return body;
}

async function latestAudit(action: string) {
  const [row] = await t.ctx.db
    .select()
    .from(auditLogs)
    .where(eq(auditLogs.action, action))
    .orderBy(desc(auditLogs.id))
    .limit(1);
  return row;
}

describe('registration', () => {
  test('creates a viewer and never returns the password', async () => {
    const username = unique('reg');
    const res = await json('POST', '/api/v1/auth/register', {
      email: `${username}@example.org`,
      username,
      password: PASSWORD,
      full_name: 'Fish Farmer',
    });
    assert.equal(res.statusCode, 201);
    const body = res.json();
    assert.equal(body.role, 'viewer');
    assert.equal(body.username, username);
    assert.equal(body.full_name, 'Fish Farmer');
    assert.ok(!('password' in body) && !('password_hash' in body));
  });

  test('a duplicate username or email is 409 naming the field', async () => {
    const username = unique('dup');
    const first = { email: `${username}@example.org`, username, password: PASSWORD };
    assert.equal((await json('POST', '/api/v1/auth/register', first)).statusCode, 201);
    const sameName = await json('POST', '/api/v1/auth/register', {
      ...first,
      email: `x${first.email}`,
    });
    assert.match(String(assertProblem(sameName, 409).detail), /username/);
    const sameEmail = await json('POST', '/api/v1/auth/register', {
      ...first,
      username: `${username}b`,
      email: first.email.toUpperCase(),
    });
    assert.match(String(assertProblem(sameEmail, 409).detail), /email/);
  });

  test('a missing field is 400 and names the field', async () => {
    const res = await json('POST', '/api/v1/auth/register', {
      email: 'a@example.org',
      username: unique('m'),
    });
    const body = assertProblem(res, 400);
    assert.match(String(body.detail), /body\.password is required/);
    assert.deepEqual(body.errors, [{ field: 'body.password', message: 'is required' }]);
  });

  test('a short password is 400 naming the password', async () => {
    const username = unique('short');
    const res = await json('POST', '/api/v1/auth/register', {
      email: `${username}@example.org`,
      username,
      password: 'short1',
    });
    const body = assertProblem(res, 400);
    assert.match(String(body.detail), /password must be at least 10 characters/);
  });

  test('malformed JSON is 400', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      headers: { 'content-type': 'application/json' },
      payload: '{"username": "abc",',
    });
    assert.match(String(assertProblem(res, 400).detail), /not valid JSON/);
  });
});

describe('sign-in and tokens', () => {
  test('register → login → me → refresh → logout', async () => {
    const username = unique('flow');
    const email = `${username}@example.org`;
    await json('POST', '/api/v1/auth/register', { email, username, password: PASSWORD });

    const login = await json('POST', '/api/v1/auth/login', { username: email, password: PASSWORD });
    assert.equal(login.statusCode, 200);
    const tokens = login.json();
    assert.equal(tokens.token_type, 'bearer');
    assert.ok(tokens.expires_in > 0);
    assert.ok(tokens.refresh_token.length > 20);

    const me = await json('GET', '/api/v1/auth/me', undefined, {
      authorization: `Bearer ${tokens.access_token}`,
    });
    assert.equal(me.statusCode, 200);
    assert.equal(me.json().username, username);

    const refreshed = await json('POST', '/api/v1/auth/refresh', {
      refresh_token: tokens.refresh_token,
    });
    assert.equal(refreshed.statusCode, 200);
    const next = refreshed.json();
    assert.notEqual(next.refresh_token, tokens.refresh_token);

    const logout = await json(
      'POST',
      '/api/v1/auth/logout',
      { refresh_token: next.refresh_token },
      {
        authorization: `Bearer ${next.access_token}`,
      },
    );
    assert.equal(logout.statusCode, 204);
    assertProblem(
      await json('POST', '/api/v1/auth/refresh', { refresh_token: next.refresh_token }),
      401,
    );
  });

  test('a wrong password is 401 and audited as a failed login', async () => {
    const user = await signedInUser(t);
    const res = await json('POST', '/api/v1/auth/login', {
      username: user.username,
      password: 'Wrong-password-123',
    });
    assertProblem(res, 401);
    const unknown = await json('POST', '/api/v1/auth/login', {
      username: unique('ghost'),
      password: PASSWORD,
    });
    assert.equal(assertProblem(unknown, 401).detail, res.json().detail);
    const row = await latestAudit('auth.login');
    assert.equal(row?.outcome, 'failure');
  });

  test('reusing a rotated refresh token revokes the whole session', async () => {
    const user = await signedInUser(t);
    const rotated = (
      await json('POST', '/api/v1/auth/refresh', { refresh_token: user.refreshToken })
    ).json();
    assertProblem(
      await json('POST', '/api/v1/auth/refresh', { refresh_token: user.refreshToken }),
      401,
    );
    // The thief's reuse also kills the token the legitimate client got.
    assertProblem(
      await json('POST', '/api/v1/auth/refresh', { refresh_token: rotated.refresh_token }),
      401,
    );
    assert.equal((await latestAudit('auth.refresh_reuse'))?.actorUserId, user.id);
  });

  test('no token, a tampered token or an expired token is 401', async () => {
    const user = await signedInUser(t);
    assertProblem(await json('GET', '/api/v1/auth/me'), 401);
    const [h, p, s] = user.token.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), role: 'admin' })).toString('base64url')}.${s}`;
    assertProblem(
      await json('GET', '/api/v1/auth/me', undefined, { authorization: `Bearer ${tampered}` }),
      401,
    );
    const expired = await new SignJWT({ role: 'viewer', username: user.username, typ: 'access' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setIssuer(t.config.jwt.issuer)
      .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode(t.config.jwt.secret));
    const res = await json('GET', '/api/v1/auth/me', undefined, {
      authorization: `Bearer ${expired}`,
    });
    assert.match(String(assertProblem(res, 401).detail), /expired/);
    assertProblem(
      await json('GET', '/api/v1/auth/me', undefined, { authorization: 'Basic abc' }),
      401,
    );
  });
});

describe('roles and administration', () => {
  test('a viewer calling an admin route is 403', async () => {
    const viewer = await signedInUser(t, 'viewer');
    assertProblem(await json('GET', '/api/v1/users/', undefined, viewer.headers), 403);
    const operator = await signedInUser(t, 'operator');
    assertProblem(
      await json('POST', '/api/v1/api-keys/', { name: 'cam', role: 'viewer' }, operator.headers),
      403,
    );
  });

  test('an admin changes roles and disables accounts, and both are audited', async () => {
    const admin = await signedInUser(t, 'admin');
    const target = await signedInUser(t, 'viewer');
    const list = await json('GET', '/api/v1/users/?limit=500', undefined, admin.headers);
    assert.equal(list.statusCode, 200);
    assert.ok(list.json().items.some((u: { id: string }) => u.id === target.id));

    const promoted = await json(
      'PATCH',
      `/api/v1/users/${target.id}`,
      { role: 'operator' },
      admin.headers,
    );
    assert.equal(promoted.json().role, 'operator');
    const change = await latestAudit('user.role_changed');
    assert.equal(change?.targetId, target.id);
    assert.deepEqual(change?.details, { from: 'viewer', to: 'operator' });
    // The new role applies to the existing token at once.
    const me = await json('GET', '/api/v1/auth/me', undefined, target.headers);
    assert.equal(me.json().role, 'operator');

    const disabled = await json(
      'PATCH',
      `/api/v1/users/${target.id}`,
      { is_active: false },
      admin.headers,
    );
    assert.equal(disabled.json().is_active, false);
    assert.equal((await latestAudit('user.disabled'))?.targetId, target.id);
    assertProblem(await json('GET', '/api/v1/auth/me', undefined, target.headers), 401);
    assertProblem(
      await json('POST', '/api/v1/auth/login', { username: target.username, password: PASSWORD }),
      401,
    );
    assertProblem(
      await json('POST', '/api/v1/auth/refresh', { refresh_token: target.refreshToken }),
      401,
    );
  });

  test('an admin cannot demote themselves', async () => {
    const admin = await signedInUser(t, 'admin');
    assertProblem(
      await json('PATCH', `/api/v1/users/${admin.id}`, { role: 'viewer' }, admin.headers),
      409,
    );
    assertProblem(
      await json('PATCH', `/api/v1/users/not-a-uuid`, { role: 'viewer' }, admin.headers),
      400,
    );
  });

  test('API keys are shown once, work as X-API-Key, and stop working when revoked', async () => {
    const admin = await signedInUser(t, 'admin');
    const created = await json(
      'POST',
      '/api/v1/api-keys/',
      { name: 'pen-3 camera', role: 'operator' },
      admin.headers,
    );
    assert.equal(created.statusCode, 201);
    const { key, id, prefix } = created.json();
    assert.ok(key.startsWith(prefix));
    const listed = await json('GET', '/api/v1/api-keys/', undefined, admin.headers);
    const entry = listed.json().items.find((k: { id: string }) => k.id === id);
    assert.ok(entry && !('key' in entry));
    assert.equal((await latestAudit('api_key.created'))?.targetId, id);

    const species = await json('GET', '/api/v1/species/', undefined, { 'x-api-key': key });
    assert.equal(species.statusCode, 200);
    // An operator key cannot do admin work.
    assertProblem(await json('GET', '/api/v1/users/', undefined, { 'x-api-key': key }), 403);

    assert.equal(
      (await json('DELETE', `/api/v1/api-keys/${id}`, undefined, admin.headers)).statusCode,
      200,
    );
    assert.equal((await latestAudit('api_key.revoked'))?.targetId, id);
    assertProblem(await json('GET', '/api/v1/species/', undefined, { 'x-api-key': key }), 401);
    assertProblem(
      await json('GET', '/api/v1/species/', undefined, { 'x-api-key': 'aqk_forged' }),
      401,
    );
  });
});
