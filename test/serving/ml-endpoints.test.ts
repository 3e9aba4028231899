// /api/v1/ml: sync, async (task) and batch prediction, and the model listings.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { zipSync } from 'fflate';
import * as tar from 'tar';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signedInUser, startTestApp, type TestApp, type TestUser } from '../support/app.ts';
import { imageForm, multipart, noisePng, solidJpeg } from '../support/images.ts';
import { shippedModelSkip } from '../support/models.ts';
import { suite } from '../support/suite.ts';

let t: TestApp;
let user: TestUser;
before(async () => {
  if (shippedModelSkip) return;
  t = await startTestApp({ serving: true, overrides: { AQUAML_SYNC_BATCH_MAX: '4' } });
  user = await signedInUser(t, 'operator');
});
after(() => t?.close());

async function post(url: string, form: { payload: Buffer; headers: Record<string, string> }) {
  return t.app.inject({
    method: 'POST',
    url,
    payload: form.payload,
    headers: { ...form.headers, ...user.headers },
  });
}

async function waitForTask(id: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  const states = new Set<string>();
  for (;;) {
    const res = await t.app.inject({ url: `/api/v1/tasks/${id}`, headers: user.headers });
    assert.equal(res.statusCode, 200, res.body);
    const task = res.json();
    states.add(task.state);
    if (['succeeded', 'failed', 'cancelled'].includes(task.state)) return { task, states };
    if (Date.now() > deadline) throw new Error(`task ${id} still ${task.state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

suite('/ml endpoints', { skip: shippedModelSkip }, () => {
  test('sync predict answers like classify', async () => {
    const res = await post('/api/v1/ml/predict?top_k=2', imageForm(await noisePng(70, 50, 1)));
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().top_k.length, 2);
  });

  test('async predict: 202 with a task that goes queued → running → succeeded with the result', async () => {
    const res = await post(
      '/api/v1/ml/predict/async',
      imageForm(await solidJpeg(30, 90, 140), { unit_id: 'tank-9' }),
    );
    assert.equal(res.statusCode, 202, res.body);
    const { task_id, task_url } = res.json();
    assert.equal(task_url, `/api/v1/tasks/${task_id}`);
    assert.equal(res.headers.location, task_url);
    const { task } = await waitForTask(task_id);
    assert.equal(task.state, 'succeeded', JSON.stringify(task));
    assert.equal(task.progress, 1);
    // One image: the result is the synchronous answer itself.
    const item = { result: task.result };
    assert.ok(item.result.label);
    assert.ok(task.timings.run_ms >= 0);
    // The prediction is stored once, under the task's own id scheme.
    await t.ctx.predictions.writer.flush();
    const stored = await t.ctx.predictions.queries.get(item.result.prediction_id);
    assert.equal(stored?.unitId, 'tank-9');
    assert.equal(stored?.source, 'task');
  });

  test('small batch: several files answered at once; a bad file fails alone', async () => {
    const form = multipart([
      {
        name: 'files',
        value: await noisePng(64, 48, 21),
        filename: 'a.png',
        contentType: 'image/png',
      },
      {
        name: 'files',
        value: await solidJpeg(200, 100, 50),
        filename: 'b.jpg',
        contentType: 'image/jpeg',
      },
      {
        name: 'files',
        value: Buffer.from('not an image'),
        filename: 'c.jpg',
        contentType: 'image/jpeg',
      },
    ]);
    const res = await post('/api/v1/ml/predict/batch', form);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.summary.total, 3);
    assert.equal(body.summary.failed, 1);
    assert.deepEqual(
      body.items.map((i: { filename: string }) => i.filename),
      ['a.png', 'b.jpg', 'c.jpg'],
    );
    assert.match(body.items[2].error, /format/);
  });

  test('a zip archive is expanded; a large batch becomes a task', async () => {
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 6; i++) files[`pen-1/img${i}.png`] = await noisePng(60, 60, 500 + i);
    files['__MACOSX/._img0.png'] = new Uint8Array([1, 2, 3]);
    const res = await post(
      '/api/v1/ml/predict/batch',
      multipart([
        {
          name: 'files',
          value: Buffer.from(zipSync(files)),
          filename: 'pen1.zip',
          contentType: 'application/zip',
        },
      ]),
    );
    assert.equal(res.statusCode, 202, res.body); // 6 > AQUAML_SYNC_BATCH_MAX
    const { task } = await waitForTask(res.json().task_id);
    assert.equal(task.state, 'succeeded');
    assert.equal(task.result.summary.total, 6);
    assert.ok(
      task.result.items.every((i: { filename: string }) =>
        i.filename.startsWith('pen1.zip/pen-1/img'),
      ),
    );
  });

  test('a tar.gz archive works too, and ?async=true always makes a task', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tar-'));
    for (let i = 0; i < 2; i++)
      writeFileSync(join(dir, `f${i}.png`), await noisePng(50, 50, 700 + i));
    const file = join(mkdtempSync(join(tmpdir(), 'tgz-')), 'batch.tar.gz');
    await tar.create({ gzip: true, file, cwd: dir }, ['f0.png', 'f1.png']);
    const res = await post(
      '/api/v1/ml/predict/batch?async=true',
      multipart([
        {
          name: 'files',
          value: readFileSync(file),
          filename: 'batch.tar.gz',
          contentType: 'application/gzip',
        },
      ]),
    );
    assert.equal(res.statusCode, 202, res.body);
    const { task } = await waitForTask(res.json().task_id);
    assert.equal(task.result.summary.total, 2);
  });

  test('a broken archive and an unknown model are clear 4xx', async () => {
    const broken = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(100, 9)]);
    const res = await post(
      '/api/v1/ml/predict/batch',
      multipart([
        { name: 'files', value: broken, filename: 'x.zip', contentType: 'application/zip' },
      ]),
    );
    assert.equal(res.statusCode, 400, res.body);
    const unknown = await post(
      '/api/v1/ml/predict/async?model=nosuchmodel',
      imageForm(await noisePng(40, 40, 1)),
    );
    assert.equal(unknown.statusCode, 404, unknown.body);
    const pinned = await post(
      '/api/v1/ml/predict?model=species@99',
      imageForm(await noisePng(40, 40, 1)),
    );
    assert.equal(pinned.statusCode, 404, pinned.body);
  });

  test('model listings', async () => {
    const models = (await t.app.inject({ url: '/api/v1/ml/models', headers: user.headers })).json();
    assert.equal(models.default_model, 'species');
    const species = models.items.find((m: { name: string }) => m.name === 'species');
    assert.deepEqual(species.versions[0].aliases, ['champion']);
    assert.equal(species.versions[0].loaded, true);
    const one = await t.app.inject({ url: '/api/v1/ml/models/1', headers: user.headers });
    assert.equal(one.statusCode, 200);
    assert.equal(one.json().labels.length, 10);
    assert.equal(
      (await t.app.inject({ url: '/api/v1/ml/models/42', headers: user.headers })).statusCode,
      404,
    );
  });
});
