// Training, evaluation and retraining-from-feedback as background tasks, on a small synthetic data set.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { signedInUser, startTestApp, type TestApp, type TestUser } from '../support/app.ts';
import { imageForm } from '../support/images.ts';
import { shippedModelSkip } from '../support/models.ts';
import { suite } from '../support/suite.ts';

let t: TestApp;
let operator: TestUser;

/** Colour blobs on noise: two classes a linear head separates easily. */
async function blob(hue: 'red' | 'blue', seed: number): Promise<Buffer> {
  const w = 64;
  const px = Buffer.alloc(w * w * 3);
  let x = seed * 7919;
  for (let i = 0; i < px.length; i += 3) {
    x = (x * 1103515245 + 12345) >>> 0;
    const n = (x >>> 24) & 63;
    px[i] = hue === 'red' ? 150 + n : n;
    px[i + 1] = n;
    px[i + 2] = hue === 'blue' ? 150 + n : n;
  }
  return sharp(px, { raw: { width: w, height: w, channels: 3 } })
    .png()
    .toBuffer();
}

async function writeSet(root: string, split: string, n: number, offset: number) {
  for (const hue of ['red', 'blue'] as const) {
    mkdirSync(join(root, split, hue), { recursive: true });
    for (let i = 0; i < n; i++)
      writeFileSync(
        join(root, split, hue, `${hue}-${offset + i}.png`),
        await blob(hue, offset + i),
      );
  }
}

async function waitForTask(id: string, timeoutMs = 240_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = (
      await t.app.inject({ url: `/api/v1/tasks/${id}`, headers: operator.headers })
    ).json();
    if (['succeeded', 'failed', 'cancelled'].includes(task.state)) return task;
    assert.ok(Date.now() < deadline, `task ${id} still ${task.state}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

before(async () => {
  if (shippedModelSkip) return;
  t = await startTestApp({ serving: true });
  operator = await signedInUser(t, 'operator');
  const root = join(t.config.dataDir, 'datasets', 'toy');
  await writeSet(root, 'train', 14, 0);
  await writeSet(root, 'val', 6, 1000);
});
after(() => t?.close());

const post = (url: string, payload: unknown, headers = operator.headers) =>
  t.app.inject({ method: 'POST', url, headers, payload: payload as object });

suite('training as a task', { skip: shippedModelSkip, timeout: 600_000 }, () => {
  test('folders outside the training data roots are refused', async () => {
    const res = await post('/api/v1/models/train', {
      task: 'species',
      data_dir: '/etc',
      name: 'toy',
    });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().detail, /training data roots/);
    const viewer = await signedInUser(t, 'viewer');
    const denied = await post(
      '/api/v1/models/train',
      { task: 'species', data_dir: 'toy/train', name: 'toy' },
      viewer.headers,
    );
    assert.equal(denied.statusCode, 403);
  });

  test('train → registered champion; evaluate; feedback → retrain registers a challenger', async () => {
    const res = await post('/api/v1/models/train', {
      task: 'species',
      data_dir: 'toy/train',
      val_dir: 'toy/val',
      name: 'toy',
      backbone: 'mnv2-140-128-b16',
      taps: ['b13_expand', 'b16_out'],
    });
    assert.equal(res.statusCode, 202, res.body);
    const trained = await waitForTask(res.json().task_id);
    assert.equal(trained.state, 'succeeded', JSON.stringify(trained.error));
    assert.deepEqual(trained.result.model, { name: 'toy', version: 1, aliases: ['champion'] });
    assert.ok(trained.result.metrics.accuracy >= 0.9, JSON.stringify(trained.result.metrics));
    const row = await t.ctx.registry.resolve('toy');
    assert.deepEqual((row.manifest.training as { source: unknown }).source, {
      train: 'toy/train',
      val: 'toy/val',
    });

    const evaluated = await waitForTask(
      (await post('/api/v1/models/toy/evaluate', { data_dir: 'toy/val' })).json().task_id,
    );
    assert.equal(evaluated.state, 'succeeded', JSON.stringify(evaluated.error));
    assert.equal(evaluated.result.n, 12);
    assert.ok(evaluated.result.accuracy >= 0.9);
    assert.deepEqual(evaluated.result.labels, ['blue', 'red']);

    // Operators classify new images and confirm their labels.
    for (let i = 0; i < 4; i++) {
      const hue = i % 2 ? 'red' : 'blue';
      const form = imageForm(await blob(hue, 5000 + i));
      const c = await t.app.inject({
        method: 'POST',
        url: '/api/v1/predictions/classify?model=toy&health=false',
        payload: form.payload,
        headers: { ...form.headers, ...operator.headers },
      });
      assert.equal(c.statusCode, 200, c.body);
      const fb = await post(`/api/v1/predictions/${c.json().prediction_id}/feedback`, {
        label: hue,
      });
      assert.equal(fb.statusCode, 200);
    }
    const retrain = await post('/api/v1/models/toy/retrain', {});
    assert.equal(retrain.statusCode, 202, retrain.body);
    assert.deepEqual(retrain.json().feedback.by_role, { operator: 4 });
    const retrained = await waitForTask(retrain.json().task_id);
    assert.equal(retrained.state, 'succeeded', JSON.stringify(retrained.error));
    assert.deepEqual(retrained.result.model, { name: 'toy', version: 2, aliases: ['challenger'] });
    assert.equal(retrained.result.feedback.used, 4);
    assert.deepEqual(retrained.result.feedback.by_giver, [
      { user_id: operator.id, api_key_id: null, role: 'operator', labels: 4 },
    ]);
    assert.equal(retrained.result.base.version, 1);
    const challenger = await t.ctx.registry.resolve('toy@challenger');
    assert.equal(challenger.source, 'retrained');
    assert.equal((challenger.manifest.training as { n_train: number }).n_train, 32);
  });
});
