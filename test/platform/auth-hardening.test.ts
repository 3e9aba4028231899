// Brute force, revoked sessions, credential guessing, admin-less API keys, CORS, HSTS, monitoring.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { and, desc, eq } from 'drizzle-orm';
import { auditLogs, loginFailures } from '../../src/db/schema.ts';
import { createLogger } from '../../src/logger.ts';
import {
  MONITORING_HEADERS,
  PASSWORD,
  signedInUser,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/app.ts';
import { DATASETS_DIR } from '../ml/helpers.ts';
import { logLines } from '../support/log-lines.ts';

const login = (t: TestApp, username: string, password: string, headers = {}, remote?: string) =>
  t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { username, password },
    headers,
    ...(remote ? { remoteAddress: remote } : {}),
  });

/** What a client can compare between two failed logins (request ids differ by design). */
const visible = (res: { statusCode: number; json(): Record<string, unknown> }) => {
  const { request_id: _id, ...rest } = res.json();
  return { status: res.statusCode, ...rest };
};

describe('login brute force', () => {
  test('without a configured proxy, X-Forwarded-For is ignored: 400 guesses meet the per-address limit', async () => {
    const t = await startTestApp();
    try {
      const victim = await signedInUser(t, 'admin');
      const counts: Record<number, number> = {};
      for (let i = 0; i < 400; i++) {
        const res = await login(
          t,
          victim.username,
          `wrong-password-${i}`,
          { 'x-forwarded-for': `203.0.113.${i % 250}, 198.51.100.${i % 200}` },
          '192.0.2.10',
        );
        counts[res.statusCode] = (counts[res.statusCode] ?? 0) + 1;
      }
      assert.deepEqual(counts, { 401: 20, 429: 380 });
    } finally {
      await t.close();
    }
  });

  describe('behind a trusted proxy, the account budget holds whatever the address', () => {
    let t: TestApp;
    let victim: TestUser;
    before(async () => {
      t = await startTestApp({
        overrides: {
          AQUAML_TRUST_PROXY: '127.0.0.1',
          AQUAML_LOGIN_MAX_FAILURES: '5',
          AQUAML_LOGIN_LOCKOUT_MS: '400',
          AQUAML_LOGIN_LOCKOUT_MAX_MS: '60000',
        },
      });
      victim = await signedInUser(t, 'admin');
    });
    after(() => t.close());

    test('rotating addresses: locked after 5 failures; the right password then fails the same way; audited; the lock expires and doubles', async () => {
      const xff = (i: number) => ({ 'x-forwarded-for': `198.51.100.${i}` });
      const answers = [];
      for (let i = 0; i < 5; i++)
        answers.push(await login(t, victim.username, `nope-${i}`, xff(i)));
      // The right password during the lock: the same status and body as a wrong one.
      const correct = await login(t, victim.username, PASSWORD, xff(50));
      const wrong = await login(t, victim.username, 'nope-again', xff(51));
      for (const res of [...answers, correct, wrong]) assert.equal(res.statusCode, 401, res.body);
      const expected = { ...visible(answers[0]!), instance: '/api/v1/auth/login' };
      assert.deepEqual(visible(correct), expected);
      assert.deepEqual(visible(wrong), expected);
      assert.deepEqual(
        Object.keys(correct.headers).sort(),
        Object.keys(answers[0]!.headers).sort(),
      );

      const audited = await t.ctx.db
        .select()
        .from(auditLogs)
        .where(and(eq(auditLogs.action, 'auth.login'), eq(auditLogs.actorUserId, victim.id)))
        .orderBy(desc(auditLogs.id));
      const reasons = audited.map((a) => a.details.reason);
      assert.equal(reasons.filter((r) => r === 'bad_credentials').length, 5);
      assert.equal(reasons.filter((r) => r === 'locked').length, 2);
      assert.equal(audited[0]!.ip, '198.51.100.51', 'the trusted proxy named the client');

      // The lock (400 ms) runs out; the next failure locks twice as long.
      await sleep(450);
      assert.equal((await login(t, victim.username, 'nope-6', xff(6))).statusCode, 401);
      const [row] = await t.ctx.db
        .select()
        .from(loginFailures)
        .where(eq(loginFailures.account, `user:${victim.id}`));
      assert.equal(row!.failures, 6);
      assert.equal(row!.lockedUntil!.getTime() - row!.lastFailureAt.getTime(), 800);
      await sleep(850);
      const ok = await login(t, victim.username, PASSWORD, xff(7));
      assert.equal(ok.statusCode, 200, ok.body);
      const left = await t.ctx.db
        .select()
        .from(loginFailures)
        .where(eq(loginFailures.account, `user:${victim.id}`));
      assert.equal(left.length, 0, 'a good sign-in starts the budget afresh');
    });

    test('an account that does not exist answers like one that does', async () => {
      const res = await login(t, 'nobody-here', 'whatever-pass', {
        'x-forwarded-for': '198.51.100.99',
      });
      assert.equal(res.statusCode, 401);
      const known = await login(t, victim.username, 'whatever-pass', {
        'x-forwarded-for': '198.51.100.98',
      });
      assert.deepEqual(visible(res), visible(known));
    });
  });
});

describe('signed-out access tokens stop working at once', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  const me = (token: string) =>
    t.app.inject({ url: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } });
  const post = (url: string, payload: object, token?: string) =>
    t.app.inject({
      method: 'POST',
      url,
      payload,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });

  test('logout of one session revokes its access token, not the other session', async () => {
    const user = await signedInUser(t, 'viewer');
    const other = (await login(t, user.username, PASSWORD)).json();
    assert.equal((await me(user.token)).statusCode, 200);
    const out = await post('/api/v1/auth/logout', { refresh_token: user.refreshToken }, user.token);
    assert.equal(out.statusCode, 204);
    const after = await me(user.token);
    assert.equal(after.statusCode, 401);
    assert.match(after.json().detail, /signed out/);
    assert.equal((await me(other.access_token)).statusCode, 200);
  });

  test('logout-all revokes every session', async () => {
    const user = await signedInUser(t, 'viewer');
    const second = (await login(t, user.username, PASSWORD)).json();
    assert.equal((await post('/api/v1/auth/logout', {}, user.token)).statusCode, 204);
    assert.equal((await me(user.token)).statusCode, 401);
    assert.equal((await me(second.access_token)).statusCode, 401);
    // Signing in again works.
    const fresh = (await login(t, user.username, PASSWORD)).json();
    assert.equal((await me(fresh.access_token)).statusCode, 200);
  });

  test('reusing a rotated refresh token revokes the access tokens of its session', async () => {
    const user = await signedInUser(t, 'viewer');
    const rotated = (
      await post('/api/v1/auth/refresh', { refresh_token: user.refreshToken })
    ).json();
    assert.equal((await me(rotated.access_token)).statusCode, 200);
    const reuse = await post('/api/v1/auth/refresh', { refresh_token: user.refreshToken });
    assert.equal(reuse.statusCode, 401);
    assert.equal((await me(rotated.access_token)).statusCode, 401);
    assert.equal((await me(user.token)).statusCode, 401);
  });
});

describe('guessing tokens and API keys', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ overrides: { AQUAML_AUTH_FAILURE_MAX: '5' } });
  });
  after(() => t.close());

  test('after 5 wrong credentials an address gets 429 before authentication, even with a good one', async () => {
    const user = await signedInUser(t, 'viewer');
    const from = (headers: Record<string, string>, remoteAddress: string) =>
      t.app.inject({ url: '/api/v1/auth/me', headers, remoteAddress });
    for (let i = 0; i < 3; i++) {
      assert.equal(
        (await from({ authorization: `Bearer bad.${i}.x` }, '192.0.2.50')).statusCode,
        401,
      );
    }
    for (let i = 0; i < 2; i++) {
      assert.equal((await from({ 'x-api-key': `aqk_wrong${i}` }, '192.0.2.50')).statusCode, 401);
    }
    const blocked = await from({ 'x-api-key': 'aqk_wrong9' }, '192.0.2.50');
    assert.equal(blocked.statusCode, 429);
    assert.ok(Number(blocked.headers['retry-after']) >= 1);
    assert.equal((await from(user.headers, '192.0.2.50')).statusCode, 429);
    assert.equal((await from(user.headers, '192.0.2.51')).statusCode, 200);
  });
});

describe('API keys', () => {
  let t: TestApp;
  let admin: TestUser;
  before(async () => {
    t = await startTestApp();
    admin = await signedInUser(t, 'admin');
  });
  after(() => t.close());

  test('an admin cannot mint an admin key; an old admin key acts as an operator', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'root-key', role: 'admin' },
      headers: admin.headers,
    });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().errors[0].field, 'body.role');
    const legacy = await t.ctx.apiKeys.create({ name: 'legacy', role: 'admin', createdBy: null });
    const headers = { 'x-api-key': legacy.key };
    const mint = await t.app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'minted', role: 'operator' },
      headers,
    });
    assert.equal(mint.statusCode, 403, mint.body);
    const operatorRoute = await t.app.inject({
      method: 'POST',
      url: '/api/v1/models/nope/promote',
      payload: { version: 1 },
      headers,
    });
    assert.notEqual(operatorRoute.statusCode, 403, 'still an operator');
  });

  test('GET /api-keys pages with limit and offset', async () => {
    for (let i = 0; i < 3; i++) {
      await t.ctx.apiKeys.create({ name: `cam-${i}`, role: 'viewer', createdBy: null });
    }
    const all = (
      await t.app.inject({ url: '/api/v1/api-keys?limit=500', headers: admin.headers })
    ).json();
    const res = await t.app.inject({
      url: '/api/v1/api-keys?limit=2&offset=1',
      headers: admin.headers,
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.limit, 2);
    assert.equal(body.offset, 1);
    assert.equal(body.total, all.total);
    assert.ok(body.total >= 3);
    assert.deepEqual(
      body.items.map((k: { id: string }) => k.id),
      all.items.slice(1, 3).map((k: { id: string }) => k.id),
    );
  });
});

describe('headers', () => {
  test('CORS allows the methods the API uses and exposes rate-limit and request headers', async () => {
    const t = await startTestApp({ overrides: { CORS_ORIGINS: 'https://farm.example' } });
    try {
      const pre = await t.app.inject({
        method: 'OPTIONS',
        url: '/api/v1/users/00000000-0000-4000-8000-000000000000',
        headers: { origin: 'https://farm.example', 'access-control-request-method': 'DELETE' },
      });
      assert.equal(pre.statusCode, 204);
      const methods = String(pre.headers['access-control-allow-methods'])
        .split(',')
        .map((m) => m.trim());
      for (const m of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
        assert.ok(methods.includes(m), `${m} in ${methods}`);
      }
      const res = await t.app.inject({
        url: '/health',
        headers: { origin: 'https://farm.example' },
      });
      const exposed = String(res.headers['access-control-expose-headers']).toLowerCase();
      for (const h of [
        'retry-after',
        'ratelimit-limit',
        'ratelimit-remaining',
        'x-request-id',
        'location',
      ]) {
        assert.ok(exposed.includes(h), `${h} in ${exposed}`);
      }
    } finally {
      await t.close();
    }
  });

  test('HSTS and upgrade-insecure-requests only when configured (behind TLS)', async () => {
    const plain = await startTestApp();
    try {
      const res = await plain.app.inject('/health');
      assert.equal(res.headers['strict-transport-security'], undefined);
      assert.doesNotMatch(
        String(res.headers['content-security-policy']),
        /upgrade-insecure-requests/,
      );
    } finally {
      await plain.close();
    }
    const tls = await startTestApp({ overrides: { AQUAML_HSTS: 'true' } });
    try {
      const res = await tls.app.inject('/health');
      assert.match(String(res.headers['strict-transport-security']), /max-age=\d+/);
      assert.match(String(res.headers['content-security-policy']), /upgrade-insecure-requests/);
    } finally {
      await tls.close();
    }
  });
});

describe('monitoring and docs (SECURITY.md)', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ overrides: { AQUAML_DOCS_PUBLIC: 'false' } });
  });
  after(() => t.close());

  test('/metrics and /health/detailed need an admin or the metrics token', async () => {
    const viewer = await signedInUser(t, 'viewer');
    const admin = await signedInUser(t, 'admin');
    for (const url of ['/metrics', '/health/detailed']) {
      assert.equal((await t.app.inject(url)).statusCode, 401, url);
      assert.equal((await t.app.inject({ url, headers: viewer.headers })).statusCode, 403, url);
      assert.equal((await t.app.inject({ url, headers: admin.headers })).statusCode, 200, url);
      assert.equal((await t.app.inject({ url, headers: MONITORING_HEADERS })).statusCode, 200, url);
      const wrong = await t.app.inject({ url, headers: { authorization: 'Bearer not-the-token' } });
      assert.equal(wrong.statusCode, 401, url);
    }
    assert.equal((await t.app.inject('/health')).statusCode, 200, '/health stays public');
  });

  test('AQUAML_DOCS_PUBLIC=false: /docs needs credentials', async () => {
    assert.equal((await t.app.inject('/docs/json')).statusCode, 401);
    const viewer = await signedInUser(t, 'viewer');
    assert.equal(
      (await t.app.inject({ url: '/docs/json', headers: viewer.headers })).statusCode,
      200,
    );
  });

  test('AQUAML_METRICS_PUBLIC=true opens /metrics to a network that isolates it', async () => {
    const open = await startTestApp({ overrides: { AQUAML_METRICS_PUBLIC: 'true' } });
    try {
      assert.equal((await open.app.inject('/metrics')).statusCode, 200);
      assert.equal((await open.app.inject('/docs/json')).statusCode, 200, 'docs public by default');
    } finally {
      await open.close();
    }
  });
});

describe('training input names no server path', () => {
  let t: TestApp;
  let operator: TestUser;
  before(async () => {
    t = await startTestApp();
    operator = await signedInUser(t, 'operator');
  });
  after(() => t.close());

  test('the OpenAPI text and a 400 for an unknown folder do not show the roots', async () => {
    const spec = (await t.app.inject('/docs/json')).body;
    for (const root of t.config.trainingDataRoots) assert.ok(!spec.includes(root), root);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/models/train',
      payload: { task: 'species', data_dir: 'no-such-set/train', name: 'x1' },
      headers: operator.headers,
    });
    assert.equal(res.statusCode, 400);
    for (const root of t.config.trainingDataRoots) assert.ok(!res.body.includes(root), res.body);
  });

  const speciesData = join(DATASETS_DIR, 'fish-species');
  test(
    'a folder with the wrong layout is a 400 naming the expected layout',
    {
      skip: existsSync(speciesData) ? false : `needs the data set at ${speciesData}`,
    },
    async () => {
      // fish-species holds train/ and val/, not class folders.
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/models/train',
        payload: { task: 'species', data_dir: 'fish-species', name: 'x2' },
        headers: operator.headers,
      });
      assert.equal(res.statusCode, 400, res.body);
      const body = res.json();
      assert.equal(body.errors[0].field, 'body.data_dir');
      assert.match(body.detail, /<class>\/\*\.png/);
      assert.match(body.detail, /did you mean fish-species\/train/);
      for (const root of t.config.trainingDataRoots) assert.ok(!res.body.includes(root), res.body);
    },
  );
});

describe(
  'two API processes share the login budget (database) and revocations (Redis)',
  {
    skip:
      !process.env.DATABASE_URL || !process.env.REDIS_URL
        ? 'needs DATABASE_URL and REDIS_URL'
        : false,
  },
  () => {
    let a: TestApp;
    let b: TestApp;
    before(async () => {
      a = await startTestApp({ role: 'api' });
      // The second process: same database, same Redis namespace, its own memory.
      b = await startTestApp({
        role: 'api',
        overrides: {
          DATABASE_URL: a.config.databaseUrl!,
          AQUAML_REDIS_PREFIX: a.config.redisPrefix,
        },
      });
    });
    after(async () => {
      await b?.close();
      await a?.close();
    });

    test('failures on one process lock the account on the other; a logout on one revokes on the other', async () => {
      const user = await signedInUser(a, 'viewer');
      for (let i = 0; i < 5; i++) {
        const res = await login(a, user.username, `nope-${i}`, {}, `192.0.2.${100 + i}`);
        assert.equal(res.statusCode, 401);
      }
      const elsewhere = await login(b, user.username, PASSWORD, {}, '192.0.2.200');
      assert.equal(elsewhere.statusCode, 401, 'locked on the other process too');

      const me = (t: TestApp) => t.app.inject({ url: '/api/v1/auth/me', headers: user.headers });
      assert.equal((await me(b)).statusCode, 200);
      const out = await a.app.inject({
        method: 'POST',
        url: '/api/v1/auth/logout',
        payload: {},
        headers: user.headers,
      });
      assert.equal(out.statusCode, 204);
      assert.equal((await me(b)).statusCode, 401);
    });
  },
);

test('development with the public JWT secret on every interface starts with one loud warning line', async () => {
  const { lines, sink } = logLines();
  const t = await startTestApp({
    overrides: { NODE_ENV: 'development', LOG_LEVEL: 'warn', HOST: '0.0.0.0' },
    context: { logger: createLogger('warn', 'aquaml', sink) },
  });
  try {
    const warnings = lines.filter((l) => /JWT_SECRET/.test(l.msg));
    assert.equal(warnings.length, 1, JSON.stringify(lines));
    assert.equal(warnings[0]!.level, 40);
    assert.match(warnings[0]!.msg, /^INSECURE/);
  } finally {
    await t.close();
  }
});

test('development with the public JWT secret on loopback says so without a warning', async () => {
  const { lines, sink } = logLines();
  const t = await startTestApp({
    overrides: { NODE_ENV: 'development', LOG_LEVEL: 'info', HOST: '127.0.0.1' },
    context: { logger: createLogger('info', 'aquaml', sink) },
  });
  try {
    const notes = lines.filter((l) => /JWT_SECRET/.test(l.msg));
    assert.equal(notes.length, 1, JSON.stringify(notes));
    assert.equal(notes[0]!.level, 30);
    assert.doesNotMatch(notes[0]!.msg, /warning|INSECURE/i);
  } finally {
    await t.close();
  }
});
