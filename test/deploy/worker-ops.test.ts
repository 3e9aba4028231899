// The worker's listener (aquaml worker: probes and /metrics on PORT, what the worker Deployment's
// probes and the ServiceMonitor reach) keeps the probes public and guards /metrics and
// /health/detailed with the monitoring token, like the api.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildOpsApp } from '../../src/http/app.ts';
import { MONITORING_HEADERS, startTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
let ops: FastifyInstance;
before(async () => {
  t = await startTestApp({ role: 'worker' });
  ops = await buildOpsApp(t.ctx);
});
after(async () => {
  await ops?.close();
  await t?.close();
});

test('the worker answers its probes without credentials', async () => {
  for (const url of ['/health', '/live']) {
    assert.equal((await ops.inject({ url })).statusCode, 200, url);
  }
  assert.ok([200, 503].includes((await ops.inject({ url: '/ready' })).statusCode));
});

test("the worker's /metrics and /health/detailed need the monitoring token", async () => {
  for (const url of ['/metrics', '/health/detailed']) {
    assert.equal((await ops.inject({ url })).statusCode, 401, `${url} without the token`);
    const wrong = await ops.inject({ url, headers: { authorization: `Bearer ${'w'.repeat(32)}` } });
    assert.equal(wrong.statusCode, 401, `${url} with a wrong token`);
    const res = await ops.inject({ url, headers: MONITORING_HEADERS });
    assert.equal(res.statusCode, 200, `${url} with the token`);
  }
  const metrics = await ops.inject({ url: '/metrics', headers: MONITORING_HEADERS });
  assert.match(metrics.body, /^# HELP /m);
});

test('the worker serves no API', async () => {
  const res = await ops.inject({ url: '/api/v1/models', headers: MONITORING_HEADERS });
  assert.equal(res.statusCode, 404);
});
