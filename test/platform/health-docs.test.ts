import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MONITORING_HEADERS, startTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp({ serving: true });
});
after(() => t.close());

test('/health answers without touching dependencies; /live too', async () => {
  const res = await t.app.inject('/health');
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().status, 'ok');
  assert.ok(res.headers['x-request-id']);
  assert.equal((await t.app.inject('/live')).json().status, 'alive');
});

test('/ready is ready after migrations ran', async () => {
  const res = await t.app.inject('/ready');
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().status, 'ready');
});

test('/health/detailed lists each dependency with status and latency', async () => {
  const res = await t.app.inject({ url: '/health/detailed', headers: MONITORING_HEADERS });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.equal(body.status, 'ok');
  for (const name of ['database', 'queue', 'event_bus', 'model_store']) {
    const c = body.components[name];
    assert.ok(c, `missing component ${name}`);
    assert.equal(c.status, 'ok', `${name}: ${JSON.stringify(c)}`);
    assert.equal(typeof c.latency_ms, 'number');
  }
});

test('an unknown route is a 404 problem document with the request id', async () => {
  const res = await t.app.inject({ url: '/api/v1/nope', headers: { 'x-request-id': 'trace-123' } });
  assert.equal(res.statusCode, 404);
  assert.match(String(res.headers['content-type']), /problem\+json/);
  assert.equal(res.json().request_id, 'trace-123');
});

test('/docs/json documents every route with request and response schemas', async () => {
  const res = await t.app.inject('/docs/json');
  assert.equal(res.statusCode, 200);
  const spec = res.json();
  assert.match(spec.openapi, /^3\./);
  const paths = Object.keys(spec.paths);
  for (const p of [
    '/api/v1/auth/register',
    '/api/v1/auth/login',
    '/api/v1/auth/me',
    '/api/v1/users',
    '/api/v1/audit',
    '/health',
  ]) {
    assert.ok(paths.includes(p), `missing ${p}`);
  }
  let operations = 0;
  for (const [path, item] of Object.entries<Record<string, Record<string, unknown>>>(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      operations += 1;
      const responses = op.responses as Record<string, { content?: unknown }>;
      assert.ok(responses && Object.keys(responses).length, `${method} ${path} has no responses`);
      const success = Object.entries(responses).find(([code]) => code.startsWith('2'));
      assert.ok(success, `${method} ${path} has no success response`);
      if (
        ['post', 'put', 'patch'].includes(method) &&
        !path.includes('classify') &&
        !path.includes('predict')
      ) {
        assert.ok(op.requestBody || op.parameters, `${method} ${path} has no request schema`);
      }
      const publicRoute = /^\/api\/v1\/auth\/(register|login|refresh)$/.test(path);
      if (path.startsWith('/api/') && !publicRoute)
        assert.ok(op.security, `${method} ${path} lacks security`);
    }
  }
  assert.ok(operations >= 15);
  // Public routes say so: no security requirement.
  assert.equal(spec.paths['/api/v1/auth/login'].post.security, undefined);
});

test('the interactive docs are served', async () => {
  const res = await t.app.inject('/docs/');
  assert.ok([200, 302].includes(res.statusCode));
});
