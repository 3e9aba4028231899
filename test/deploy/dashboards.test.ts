// Every metric the Grafana dashboards and the Prometheus rules query is one the app exports: checked
// against the /metrics of a live test app after real traffic (a metric family with no sample yet, such
// as readings rejected before the first bad reading, counts through its registered # TYPE line).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { MONITORING_HEADERS, signedInUser, startTestApp, type TestApp } from '../support/app.ts';
import { imageForm, noisePng } from '../support/images.ts';
import { shippedModelSkip } from '../support/models.ts';

const DEPLOY = resolve(import.meta.dirname, '../../deploy');

interface Query {
  where: string;
  expr: string;
}

function dashboardQueries(): Query[] {
  const dir = join(DEPLOY, 'grafana/dashboards');
  return readdirSync(dir).flatMap((file) => {
    const d = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
      templating: { list: { name: string; query: { query: string } }[] };
    };
    return [
      ...d.panels.flatMap((p) =>
        p.targets.map((t) => ({ where: `${file}: ${p.title}`, expr: t.expr })),
      ),
      ...d.templating.list.map((v) => ({ where: `${file}: $${v.name}`, expr: v.query.query })),
    ];
  });
}

interface RuleFile {
  groups: { rules: { record?: string; alert?: string; expr: string }[] }[];
}

function ruleQueries(): { queries: Query[]; recorded: Set<string> } {
  const dir = join(DEPLOY, 'prometheus/rules');
  const queries: Query[] = [];
  const recorded = new Set<string>();
  for (const file of readdirSync(dir)) {
    const rules = (parse(readFileSync(join(dir, file), 'utf8')) as RuleFile).groups.flatMap(
      (g) => g.rules,
    );
    for (const r of rules) {
      if (r.record) recorded.add(r.record);
      queries.push({ where: `${file}: ${r.record ?? r.alert}`, expr: r.expr });
    }
  }
  return { queries, recorded };
}

/** The AquaML metric names a PromQL expression reads (label values in quotes are skipped). */
function metricNames(expr: string): string[] {
  return [...expr.replace(/"[^"]*"/g, '""').matchAll(/\baquaml(?:_|:)[a-zA-Z0-9_:]*/g)].map(
    (m) => m[0],
  );
}

let t: TestApp;
let exposition = '';
before(async () => {
  if (shippedModelSkip) return;
  // Drift is exported from AQUAML_DRIFT_MIN_SAMPLES predictions on (10 at least): as many images.
  const samples = 10;
  t = await startTestApp({
    serving: true,
    overrides: { AQUAML_DRIFT_MIN_SAMPLES: String(samples) },
  });
  const user = await signedInUser(t, 'operator');
  for (let i = 0; i < samples; i++) {
    const form = imageForm(await noisePng(64, 64, 5 + i));
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/predictions/classify',
      payload: form.payload,
      headers: { ...form.headers, ...user.headers },
    });
    assert.equal(res.statusCode, 200);
  }
  await t.ctx.serving.drift.check();
  exposition = (await t.app.inject({ url: '/metrics', headers: MONITORING_HEADERS })).body;
});
after(() => t?.close());

test('dashboards and rules query only metrics the app exports', { skip: shippedModelSkip }, () => {
  const sampled = new Set(
    [...exposition.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)].map((m) => m[1]!),
  );
  const registered = new Set<string>();
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    registered.add(name!);
    if (type === 'histogram' || type === 'summary')
      for (const suffix of ['_bucket', '_count', '_sum']) registered.add(name + suffix);
  }
  // After traffic these have samples, not only a # TYPE line.
  for (const name of [
    'aquaml_http_request_duration_seconds_bucket',
    'aquaml_inference_duration_seconds_bucket',
    'aquaml_batch_size_bucket',
    'aquaml_batch_queue_wait_seconds_bucket',
    'aquaml_predictions_total',
    'aquaml_prediction_cache_total',
    'aquaml_batch_queue_depth',
    'aquaml_batch_queue_capacity',
    'aquaml_batch_in_flight',
    'aquaml_model_info',
    'aquaml_model_validation_accuracy',
    'aquaml_model_drift_psi',
    'aquaml_alerts_open',
    'aquaml_task_queue_depth',
  ])
    assert.ok(sampled.has(name), `${name} has no sample after traffic`);

  const { queries, recorded } = ruleQueries();
  const all = [...dashboardQueries(), ...queries];
  assert.ok(all.length > 40, `only ${all.length} queries found`);
  const unknown: string[] = [];
  for (const q of all) {
    const names = metricNames(q.expr);
    if (!names.length && !/\bup\b|ALERTS/.test(q.expr)) unknown.push(`${q.where}: reads no metric`);
    for (const n of names)
      if (!registered.has(n) && !recorded.has(n)) unknown.push(`${q.where}: ${n}`);
  }
  assert.deepEqual(unknown, []);
});

test('the metric-name check itself catches a misspelt metric', () => {
  assert.deepEqual(metricNames('rate(aquaml_http_requests_total{route="aquaml_x"}[5m])'), [
    'aquaml_http_requests_total',
  ]);
  assert.deepEqual(metricNames('aquaml:http_requests:rate5m < 100'), [
    'aquaml:http_requests:rate5m',
  ]);
});
