// /api/v1/metrics/performance, the gauges added to /metrics, and OpenTelemetry spans of a classify
// request received by an OTLP/HTTP endpoint on loopback.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Writable } from 'node:stream';
import { alerts } from '../../src/db/schema.ts';
import { createLogger } from '../../src/logger.ts';
import { PerformanceWindow } from '../../src/observability/performance.ts';
import { MONITORING_HEADERS, signedInUser, startTestApp, type TestApp } from '../support/app.ts';
import { imageForm, noisePng } from '../support/images.ts';
import { shippedModelSkip } from '../support/models.ts';

describe('performance window', () => {
  test('exact percentiles, throughput and error rate over the sliding window only', () => {
    let now = 1_000_000;
    const w = new PerformanceWindow(10_000, 1000, () => now);
    for (let i = 1; i <= 100; i++) w.record(i, i > 95);
    now += 5_000;
    const s = w.summary();
    assert.equal(s.latency_p50_ms, 50);
    assert.equal(s.latency_p95_ms, 95);
    assert.equal(s.latency_p99_ms, 99);
    assert.equal(s.latency_mean_ms, 50.5);
    assert.equal(s.error_rate, 0.05);
    assert.equal(s.total_requests, 100);
    assert.equal(s.throughput_rps, 20); // 100 requests over the 5 s seen so far
    now += 6_000; // the samples leave the 10 s window
    w.record(7, false);
    const later = w.summary();
    assert.equal(later.latency_p50_ms, 7);
    assert.equal(later.total_requests, 101);
    assert.equal(later.throughput_rps, 0.1);
    w.reset();
    assert.equal(w.summary().total_requests, 0);
    assert.equal(w.summary().latency_p99_ms, null);
  });
});

describe('performance route and /metrics', { skip: shippedModelSkip }, () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ serving: true });
  });
  after(() => t?.close());

  test('GET /metrics/performance reports the API traffic; reset is admin only', async () => {
    const viewer = await signedInUser(t, 'viewer');
    const admin = await signedInUser(t, 'admin');
    const operator = await signedInUser(t, 'operator');
    let res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/metrics/performance/reset',
      headers: admin.headers,
    });
    assert.equal(res.statusCode, 200);
    for (let i = 0; i < 3; i++) {
      const form = imageForm(await noisePng(64, 64, 700 + i));
      res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/predictions/classify?health=false',
        payload: form.payload,
        headers: { ...form.headers, ...operator.headers },
      });
      assert.equal(res.statusCode, 200);
    }
    // Probes and scrapes are not API traffic.
    await t.app.inject({ url: '/health' });
    await t.app.inject({ url: '/metrics', headers: MONITORING_HEADERS });
    res = await t.app.inject({ url: '/api/v1/metrics/performance', headers: viewer.headers });
    assert.equal(res.statusCode, 200);
    const perf = res.json();
    assert.equal(perf.total_requests, 3 + 1); // + the reset call's own request
    assert.ok(perf.latency_p50_ms > 0 && perf.latency_p99_ms >= perf.latency_p95_ms);
    assert.ok(perf.latency_p95_ms >= perf.latency_p50_ms);
    assert.equal(perf.error_rate, 0);
    assert.ok(perf.throughput_rps > 0);
    assert.ok(perf.uptime_seconds > 0);

    res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/metrics/performance/reset',
      headers: viewer.headers,
    });
    assert.equal(res.statusCode, 403);
    res = await t.app.inject({ method: 'POST', url: '/api/v1/metrics/performance/reset' });
    assert.equal(res.statusCode, 401);
  });

  test('/metrics: batcher gauges, model info with aliases, cache label, alerts, readings', async () => {
    const operator = await signedInUser(t, 'operator');
    const form = imageForm(await noisePng(64, 64, 42));
    for (let i = 0; i < 2; i++) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/predictions/classify?health=false',
        payload: form.payload,
        headers: { ...form.headers, ...operator.headers },
      });
      assert.equal(res.statusCode, 200);
    }
    await t.ctx.db
      .insert(alerts)
      .values({ kind: 'test', severity: 'critical', source: 'test', message: 'x' });
    await t.app.inject({ url: '/docs/static/index.html' });
    const body = (await t.app.inject({ url: '/metrics', headers: MONITORING_HEADERS })).body;
    assert.match(body, /aquaml_batch_queue_depth\{model="species",version="1"\} 0/);
    assert.match(body, /aquaml_batch_in_flight\{model="species",version="1"\} 0/);
    assert.match(body, /aquaml_model_info\{model="species",version="1",aliases="champion"\} 1/);
    assert.match(
      body,
      /aquaml_inference_duration_seconds_count\{model="species",version="1",cached="true"\} 1/,
    );
    assert.match(
      body,
      /aquaml_inference_duration_seconds_count\{model="species",version="1",cached="false"\} [1-9]/,
    );
    assert.match(body, /aquaml_alerts_open\{severity="critical"\} 1/);
    assert.match(body, /aquaml_alerts_open\{severity="warning"\} 0/);
    assert.match(body, /# TYPE aquaml_readings_ingested_total counter/);
    assert.match(body, /# TYPE aquaml_readings_rejected_total counter/);
    assert.match(body, /aquaml_model_validation_accuracy\{model="species",version="1"\} 0\.\d+/);
    assert.doesNotMatch(body, /route="\/docs\/static/);
  });
});

describe('tracing', { skip: shippedModelSkip }, () => {
  let receiver: Server;
  const bodies: unknown[] = [];
  const logLines: string[] = [];
  let t: TestApp;
  before(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/v1/traces') bodies.push(JSON.parse(Buffer.concat(chunks).toString()));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const { port } = receiver.address() as AddressInfo;
    t = await startTestApp({
      serving: true,
      overrides: {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        AQUAML_PREDICTION_CACHE: 'false',
      },
      context: {
        logger: createLogger(
          'info',
          'aquaml',
          new Writable({
            write(chunk: Buffer, _enc, done) {
              logLines.push(...chunk.toString().split('\n').filter(Boolean));
              done();
            },
          }),
        ),
      },
    });
  });
  after(async () => {
    await t?.close();
    receiver?.close();
  });

  test('one classify request: HTTP, decode, batch and database spans in one trace', async () => {
    const operator = await signedInUser(t, 'operator');
    const form = imageForm(await noisePng(64, 64, 99));
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/predictions/classify?health=false',
      payload: form.payload,
      headers: {
        ...form.headers,
        ...operator.headers,
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      },
    });
    assert.equal(res.statusCode, 200);
    await t.ctx.predictions.writer.flush();
    await t.close(); // the SDK flushes its spans on stop
    type Span = { name: string; traceId: string; parentSpanId?: string; spanId: string };
    const spans: Span[] = bodies.flatMap((b) =>
      (b as { resourceSpans: { scopeSpans: { spans: Span[] }[] }[] }).resourceSpans.flatMap((r) =>
        r.scopeSpans.flatMap((s) => s.spans),
      ),
    );
    const trace = spans.filter((s) => s.traceId === '0af7651916cd43dd8448eb211c80319c');
    const names = trace.map((s) => s.name);
    const http = trace.find((s) => s.name === 'POST /api/v1/predictions/classify');
    assert.ok(http, `no HTTP span in ${JSON.stringify(names)}`);
    assert.equal(http.parentSpanId, 'b7ad6b7169203331');
    for (const name of ['decode', 'inference.batch']) {
      const span = trace.find((s) => s.name === name);
      assert.ok(span, `no ${name} span in ${JSON.stringify(names)}`);
      assert.equal(span.parentSpanId, http.spanId);
    }
    assert.ok(
      trace.some((s) => s.name.startsWith('db ')),
      `no database span in ${JSON.stringify(names)}`,
    );
    assert.ok(
      spans.some((s) => s.name === 'predictions.store'),
      'the stored prediction has its span',
    );
  });
});
