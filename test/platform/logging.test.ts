// Request logs are structured JSON with request id, user id and latency; credentials never appear.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { createLogger } from '../../src/logger.ts';
import { PASSWORD, startTestApp, type TestApp, unique } from '../support/app.ts';

const lines: string[] = [];
let t: TestApp;
before(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  t = await startTestApp({ context: { logger: createLogger('info', 'aquaml', sink) } });
});
after(() => t.close());

test('request lines carry request id, user id and latency; passwords and tokens are never logged', async () => {
  const username = unique('log');
  const secretPassword = `${PASSWORD}-Zq8`;
  await t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/register',
    payload: { username, email: `${username}@example.org`, password: secretPassword },
  });
  const bad = await t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { username, password: 'Wrong-Password-4242' },
  });
  assert.equal(bad.statusCode, 401);
  const login = await t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { username, password: secretPassword },
  });
  const { access_token, refresh_token } = login.json();
  await t.app.inject({
    url: '/api/v1/auth/me',
    headers: { authorization: `Bearer ${access_token}`, 'x-request-id': 'trace-77' },
  });
  await new Promise((r) => setTimeout(r, 50));

  const text = lines.join('\n');
  for (const secret of [secretPassword, 'Wrong-Password-4242', access_token, refresh_token]) {
    assert.ok(!text.includes(secret), 'a credential reached the log');
  }
  const me = lines.map((l) => JSON.parse(l)).find((l) => l.url === '/api/v1/auth/me');
  assert.equal(me.reqId, 'trace-77');
  assert.equal(me.status, 200);
  assert.equal(typeof me.latency_ms, 'number');
  assert.ok(me.user_id);
  // Security events are logged (and audited) too.
  assert.ok(
    lines.some((l) => l.includes('"audit":"auth.login"') && l.includes('"outcome":"failure"')),
  );
});
