// A real Prometheus (Debian's package; loopback only, a temporary config, bounded in time) scrapes a
// running app: the HTTP and inference histograms hold data, and the error-rate alert of
// deploy/prometheus/rules fires on an injected burst of 5xx answers. Skips when `prometheus` is
// not installed (.ci/run installs it).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import {
  MONITORING_TOKEN,
  signedInUser,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/app.ts';
import { imageForm, noisePng } from '../support/images.ts';
import { shippedModelSkip } from '../support/models.ts';

/** A port free right now on loopback (Prometheus cannot listen on port 0 and report it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

let promPort = 0;
const RULES = resolve(import.meta.dirname, '../../deploy/prometheus/rules/aquaml.rules.yml');
const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0;
const skip = !hasPrometheus
  ? 'prometheus is not installed (apt-get install -y prometheus)'
  : shippedModelSkip;

let t: TestApp;
let user: TestUser;
let prom: ChildProcess | undefined;
let dir: string;
let base: string;

/**
 * The shipped rules with time compressed for a test: 5-minute rates become 1-minute ones and
 * every `for` is dropped, so the alert fires within seconds of the burst (and the burst stays in
 * the window long enough for a Prometheus slowed by a loaded machine). The expressions are the
 * shipped ones otherwise.
 */
function compressedRules(): string {
  return readFileSync(RULES, 'utf8')
    .replaceAll('[5m]', '[1m]')
    .replace(/for: \d+m/g, 'for: 0s')
    .replace(/interval: 30s/g, 'interval: 1s');
}

async function query(
  expr: string,
): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(
    `http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr)}`,
  );
  const body = (await res.json()) as { status: string; data: { result: never[] } };
  assert.equal(body.status, 'success', JSON.stringify(body));
  return body.data.result;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function classify(seed: number): Promise<number> {
  const form = imageForm(await noisePng(64, 64, seed));
  const res = await fetch(`${base}/api/v1/predictions/classify?health=false`, {
    method: 'POST',
    headers: { ...form.headers, ...user.headers },
    body: form.payload,
  });
  await res.arrayBuffer();
  return res.status;
}

before(async () => {
  if (skip) return;
  // A batcher queue of one: concurrent requests beyond it get 503, the injected error burst.
  t = await startTestApp({
    serving: true,
    overrides: { AQUAML_MAX_QUEUE_SIZE: '1', AQUAML_PREDICTION_CACHE: 'false' },
  });
  user = await signedInUser(t, 'operator');
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  promPort = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'aquaml-prom-'));
  writeFileSync(join(dir, 'aquaml.rules.yml'), compressedRules());
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: {scrape_interval: 1s, evaluation_interval: 1s}',
      `rule_files: ['${join(dir, 'aquaml.rules.yml')}']`,
      'scrape_configs:',
      // Prometheus presents the monitoring token, as deploy/prometheus/prometheus.yml documents.
      `  - {job_name: aquaml-api, authorization: {credentials: '${MONITORING_TOKEN}'}, static_configs: [{targets: ['${base.slice('http://'.length)}']}]}`,
    ].join('\n'),
  );
  prom = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--storage.tsdb.retention.time=1h',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  prom.stderr!.on('data', (c: Buffer) => void (log = (log + c.toString()).slice(-4000)));
  prom.on('exit', (code) => {
    if (code) console.error(`prometheus exited ${code}:\n${log}`);
  });
  await until('prometheus to be ready', async () => {
    const res = await fetch(`http://127.0.0.1:${promPort}/-/ready`);
    return res.ok ? true : undefined;
  });
});

after(async () => {
  if (prom && prom.exitCode === null) {
    prom.kill('SIGTERM');
    await new Promise((r) => prom!.once('exit', r));
  }
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test(
  'Prometheus scrapes the histograms and fires the error-rate alert on a 5xx burst',
  { skip, timeout: 120_000 },
  async () => {
    for (let i = 0; i < 5; i++) assert.equal(await classify(100 + i), 200);
    const http = await until('HTTP histogram data', async () => {
      const r = await query(
        'sum(aquaml_http_request_duration_seconds_count{route="/api/v1/predictions/classify"})',
      );
      return r.length && Number(r[0]!.value[1]) >= 5 ? r : undefined;
    });
    assert.ok(Number(http[0]!.value[1]) >= 5);
    const inference = await until('inference histogram data', async () => {
      const r = await query(
        'sum by (model) (aquaml_inference_duration_seconds_bucket{cached="false",le="+Inf"})',
      );
      return r.length ? r : undefined;
    });
    assert.equal(inference[0]!.metric.model, 'species');
    assert.ok(Number(inference[0]!.value[1]) >= 5);
    assert.equal(
      (await query('ALERTS{alertname="AquaMLHighErrorRate"}')).length,
      0,
      'no alert before the burst',
    );

    // rate() counts what a series gained between scrapes, never its first value: one round of
    // 5xx first, so the series exists in Prometheus before the burst it must count.
    const burst = (round: number) =>
      Promise.all(Array.from({ length: 24 }, (_, i) => classify(1000 + round * 100 + i)));
    assert.ok(
      (await burst(9)).some((s) => s >= 500),
      'a first 5xx',
    );
    await until('the 5xx series to be scraped', async () => {
      const r = await query('aquaml_http_request_duration_seconds_count{status=~"5.."}');
      return r.length ? r : undefined;
    });

    // The burst: 24 concurrent requests against a queue of one, three times.
    const statuses: number[] = [];
    for (let round = 0; round < 3; round++) {
      statuses.push(...(await burst(round)));
    }
    const failed = statuses.filter((s) => s >= 500).length;
    assert.ok(failed >= 10, `expected a burst of 5xx, got ${JSON.stringify(statuses)}`);
    assert.ok(
      statuses.every((s) => s === 200 || s === 503),
      JSON.stringify(statuses),
    );

    const firing = await until(
      'AquaMLHighErrorRate to fire',
      async () => {
        const r = await query('ALERTS{alertname="AquaMLHighErrorRate",alertstate="firing"}');
        return r.length ? r : undefined;
      },
      60_000,
    );
    assert.equal(firing[0]!.metric.severity, 'critical');
  },
);
