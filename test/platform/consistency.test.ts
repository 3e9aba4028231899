// One consistent API (issue 9, items 8-15): status codes, task shapes, one precision, paging,
// drift reporting, model names, the audit API, image retention and archived versions.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { modelAliases } from '../../src/db/schema.ts';
import { importModel } from '../../src/modules/models/transfer.ts';
import {
  MONITORING_HEADERS,
  signedInUser,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/app.ts';
import { imageForm, multipart, noisePng } from '../support/images.ts';
import { shippedModelSkip } from '../support/models.ts';
import { suite } from '../support/suite.ts';

let t: TestApp;
let admin: TestUser;
let viewer: TestUser;
const OLD_SHA = 'ab'.repeat(32);

before(async () => {
  if (shippedModelSkip) return;
  t = await startTestApp({ overrides: { AQUAML_DRIFT_MIN_SAMPLES: '50' } });
  // A kept image from 40 days ago: the retention schedule deletes it when serving starts.
  mkdirSync(join(t.dataDir, 'images', 'ab'), { recursive: true });
  const old = join(t.dataDir, 'images', 'ab', OLD_SHA);
  writeFileSync(old, 'old image');
  const past = new Date(Date.now() - 40 * 86_400_000);
  utimesSync(old, past, past);
  await t.ctx.startServing();
  admin = await signedInUser(t, 'admin');
  viewer = await signedInUser(t, 'viewer');
});
after(() => t?.close());

const post = (url: string, form: ReturnType<typeof multipart>, user = admin) =>
  t.app.inject({
    method: 'POST',
    url,
    payload: form.payload,
    headers: { ...form.headers, ...user.headers },
  });
const get = (url: string, user = admin) => t.app.inject({ url, headers: user.headers });

async function waitForTask(id: string) {
  for (let i = 0; i < 400; i++) {
    const task = (await get(`/api/v1/tasks/${id}`)).json();
    if (['succeeded', 'failed', 'cancelled'].includes(task.state)) return task;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`task ${id} did not finish`);
}

suite('one consistent API', { skip: shippedModelSkip }, () => {
  test('8: an unknown model is a 404, a known one without a champion a 503; the form field is honoured', async () => {
    const image = await noisePng(64, 64, 801);
    const unknown = await post('/api/v1/predictions/classify?model=nope', imageForm(image));
    assert.equal(unknown.statusCode, 404, unknown.body);
    assert.match(unknown.json().detail, /no model nope/);
    for (const url of ['/api/v1/ml/predict/async?model=nope', '/api/v1/ml/predict?model=nope']) {
      assert.equal((await post(url, imageForm(image))).statusCode, 404, url);
    }
    await importModel(t.ctx.registry, join(t.config.models.shippedDir, 'species', '1'), {
      name: 'benched',
    });
    // Known, but without a champion (its alias removed): it cannot serve.
    await t.ctx.db.delete(modelAliases).where(eq(modelAliases.modelName, 'benched'));
    // Removed behind the registry's back: drop what this process cached about the model.
    t.ctx.serving.router.invalidate('benched');
    t.ctx.serving.classifier.invalidate('benched');
    const idle = await post('/api/v1/predictions/classify?model=benched', imageForm(image));
    assert.equal(idle.statusCode, 503, idle.body);
    assert.ok(idle.headers['retry-after']);

    const viaField = await post(
      '/api/v1/predictions/classify',
      imageForm(image, { model: 'nope' }),
    );
    assert.equal(viaField.statusCode, 404, 'the form field model is used, not ignored');
    const pinned = await post(
      '/api/v1/predictions/classify',
      imageForm(image, { model: 'species@1' }),
    );
    assert.equal(pinned.statusCode, 200, pinned.body);
    assert.equal(pinned.json().model.route, '1');
    const both = await post(
      '/api/v1/predictions/classify?model=species',
      imageForm(image, { model: 'benched' }),
    );
    assert.equal(both.statusCode, 400);
    assert.equal(both.json().errors[0].field, 'body.model');
  });

  test('9: an async single image is a single-image task with the sync answer; 202s carry Location', async () => {
    const image = await noisePng(64, 64, 901);
    const res = await post('/api/v1/ml/predict/async', imageForm(image));
    assert.equal(res.statusCode, 202, `${res.statusCode} ${res.body}`);
    const body = res.json();
    assert.equal(body.type, 'predict.image');
    assert.equal(res.headers.location, `/api/v1/tasks/${body.task_id}`);
    assert.equal(body.task_url, res.headers.location);
    const task = await waitForTask(body.task_id);
    assert.equal(task.state, 'succeeded', JSON.stringify(task));
    const sync = (await post('/api/v1/ml/predict', imageForm(image))).json();
    assert.deepEqual(Object.keys(task.result).sort(), Object.keys(sync).sort());
    assert.equal(task.result.label, sync.label);
    assert.equal(task.result.confidence, sync.confidence);

    const batchForm = multipart([
      { name: 'files', value: image, filename: 'a.png', contentType: 'image/png' },
    ]);
    const batch = await post('/api/v1/ml/predict/batch?async=true', batchForm);
    assert.equal(batch.statusCode, 202, batch.body);
    assert.equal(batch.json().type, 'predict.batch');
    assert.equal(batch.headers.location, `/api/v1/tasks/${batch.json().task_id}`);
    const purge = await t.app.inject({
      method: 'POST',
      url: '/api/v1/tasks/purge',
      headers: admin.headers,
      payload: { older_than_days: 365 },
    });
    assert.equal(purge.statusCode, 202);
    assert.equal(purge.headers.location, `/api/v1/tasks/${purge.json().id}`);
  });

  test('10: history shows a prediction as classify did; cache hits say so and stay out of latency', async () => {
    const image = await noisePng(64, 64, 1001);
    const first = (
      await post('/api/v1/predictions/classify?health=false', imageForm(image))
    ).json();
    assert.equal(first.cached, false);
    const statsBefore = t.ctx.serving.stats.of('species', 1).summary() as {
      latency_ms: { count?: number };
    };
    const again = (
      await post('/api/v1/predictions/classify?health=false', imageForm(image))
    ).json();
    assert.equal(again.cached, true);
    const statsAfter = t.ctx.serving.stats.of('species', 1).summary() as typeof statsBefore;
    assert.deepEqual(
      statsAfter.latency_ms,
      statsBefore.latency_ms,
      'a cache hit adds no latency sample',
    );

    const history = (await get('/api/v1/predictions/history?limit=50')).json();
    const stored = history.items.find((p: { id: string }) => p.id === first.prediction_id);
    assert.ok(stored, 'the prediction is in the history');
    for (const key of [
      'label',
      'confidence',
      'status',
      'top_k',
      'ood_score',
      'species',
      'scientific_name',
      'image_sha256',
      'timings',
      'cached',
    ]) {
      assert.deepEqual(stored[key], first[key], key);
    }
    assert.equal(stored.inference_ms, first.inference_ms);
    const hit = history.items.find((p: { id: string }) => p.id === again.prediction_id);
    assert.equal(hit.cached, true);
    for (const p of history.items) {
      assert.equal(p.confidence, Math.round(p.confidence * 1e4) / 1e4, 'four decimals everywhere');
    }
    const metrics = (await t.app.inject({ url: '/metrics', headers: MONITORING_HEADERS })).body;
    const count = /aquaml_inference_duration_seconds_count\{[^}]*model="species"[^}]*\} (\d+)/.exec(
      metrics,
    );
    assert.ok(count, 'the latency histogram is exported');
  });

  test('11: every list endpoint pages the same way, with a clear 400 for a bad limit', async () => {
    for (const url of [
      '/api/v1/species',
      '/api/v1/predictions/species',
      '/api/v1/models/all',
      '/api/v1/ml/models',
      '/api/v1/users',
      '/api/v1/tasks',
      '/api/v1/predictions/history',
      '/api/v1/audit',
    ]) {
      const res = await get(`${url}?limit=2&offset=1`);
      assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
      const body = res.json();
      assert.equal(body.limit, 2, url);
      assert.equal(body.offset, 1, url);
      assert.equal(typeof body.total, 'number', url);
      assert.ok(body.items.length <= 2, url);
      const bad = await get(`${url}?limit=100000`);
      assert.equal(bad.statusCode, 400, url);
      assert.match(bad.headers['content-type'] as string, /problem\+json/);
      assert.match(bad.body, /limit/);
    }
    const species = (await get('/api/v1/species?limit=3')).json();
    assert.equal(species.items.length, 3);
    assert.ok(species.total > 3);
    const paths = Object.keys((await t.app.inject({ url: '/docs/json' })).json().paths);
    assert.deepEqual(
      paths.filter((p) => p.length > 1 && p.endsWith('/')),
      [],
      'no trailing slashes',
    );
  });

  test('12: drift PSI is reported only from the minimum sample count on', async () => {
    const reports = await t.ctx.serving.drift.check();
    const species = reports.find((r) => r.model === 'species');
    assert.ok(species && species.samples < 50);
    assert.deepEqual(species.psi, { confidence: null, ood_score: null, feature_norm: null });
    const metrics = (await t.app.inject({ url: '/metrics', headers: MONITORING_HEADERS })).body;
    assert.doesNotMatch(metrics, /aquaml_model_drift_psi\{[^}]*model="species"/);
  });

  test('13: the default health model name can be registered', async () => {
    const row = await importModel(
      t.ctx.registry,
      join(t.config.models.shippedDir, 'species', '1'),
      { name: t.config.serving.healthModel },
    );
    assert.equal(row.name, 'fish-health');
  });

  test('14: the audit log has an admin API, filtered and paged', async () => {
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/models/benched/versions/1/archive',
      headers: admin.headers,
    });
    // One word per concept: a lifecycle is a `state` (tasks, model versions).
    const version = (await get('/api/v1/models/benched/versions/1')).json();
    assert.equal(version.state, 'archived');
    assert.equal(version.status, undefined);
    const all = await get('/api/v1/audit?action=model.');
    assert.equal(all.statusCode, 200, all.body);
    assert.ok(all.json().items.length >= 1);
    assert.ok(all.json().items.every((e: { action: string }) => e.action.startsWith('model.')));
    const archived = (await get('/api/v1/audit?action=model.archived&limit=1')).json();
    assert.equal(archived.items[0].target.id, 'benched@1');
    assert.equal(archived.items[0].actor.user_id, admin.id);
    const mine = (await get(`/api/v1/audit?actor=${admin.id}`)).json();
    assert.ok(
      mine.items.every((e: { actor: { user_id: string } }) => e.actor.user_id === admin.id),
    );
    const future = (
      await get(`/api/v1/audit?from=${new Date(Date.now() + 86_400_000).toISOString()}`)
    ).json();
    assert.equal(future.total, 0);
    assert.equal(
      (await get('/api/v1/audit?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z')).statusCode,
      400,
    );
    assert.equal((await get('/api/v1/audit', viewer)).statusCode, 403);
  });

  test('15: expired kept images are purged on a schedule; archived versions leave the engine', async () => {
    const old = join(t.dataDir, 'images', 'ab', OLD_SHA);
    for (let i = 0; i < 100 && existsSync(old); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(existsSync(old), false, 'the 40-day-old image was deleted at start');
    const image = await noisePng(64, 64, 1501);
    const kept = (await post('/api/v1/predictions/classify', imageForm(image))).json();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await t.ctx.serving.retention!.runOnce(), 0);
    assert.ok(await t.ctx.serving.images!.read(kept.image_sha256), 'a recent image is kept');

    const row = await importModel(
      t.ctx.registry,
      join(t.config.models.shippedDir, 'species', '1'),
      {
        name: 'retired',
      },
    );
    const served = await post(
      `/api/v1/predictions/classify?model=retired@${row.version}`,
      imageForm(image),
    );
    assert.equal(served.statusCode, 200, served.body);
    assert.ok(t.ctx.serving.runtime.loaded().includes(`retired@${row.version}`));
    await t.ctx.db.delete(modelAliases).where(eq(modelAliases.modelName, 'retired'));
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v1/models/retired/versions/${row.version}/archive`,
      headers: admin.headers,
    });
    assert.equal(res.statusCode, 200, res.body);
    for (
      let i = 0;
      i < 100 && t.ctx.serving.runtime.loaded().includes(`retired@${row.version}`);
      i++
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(!t.ctx.serving.runtime.loaded().includes(`retired@${row.version}`));
  });
});
