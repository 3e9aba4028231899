// A species the model does not know, end to end: operators label images of it through feedback
// as a new class, retraining adds the class, and the new version classifies it.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { signedInUser, startTestApp, type TestApp, type TestUser } from '../support/app.ts';
import { imageForm } from '../support/images.ts';
import { shippedModelSkip } from '../support/models.ts';
import { suite } from '../support/suite.ts';

type Hue = 'red' | 'blue' | 'green';

let t: TestApp;
let operator: TestUser;

/** Colour blobs on noise: classes a linear head separates easily. */
async function blob(hue: Hue, seed: number): Promise<Buffer> {
  const w = 64;
  const px = Buffer.alloc(w * w * 3);
  let x = seed * 7919;
  for (let i = 0; i < px.length; i += 3) {
    x = (x * 1103515245 + 12345) >>> 0;
    const n = (x >>> 24) & 63;
    px[i] = hue === 'red' ? 150 + n : n;
    px[i + 1] = hue === 'green' ? 150 + n : n;
    px[i + 2] = hue === 'blue' ? 150 + n : n;
  }
  return sharp(px, { raw: { width: w, height: w, channels: 3 } })
    .png()
    .toBuffer();
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

const post = (url: string, payload: unknown, headers = operator.headers) =>
  t.app.inject({ method: 'POST', url, headers, payload: payload as object });

async function classify(image: Buffer, model: string) {
  const form = imageForm(image);
  const res = await t.app.inject({
    method: 'POST',
    url: `/api/v1/predictions/classify?model=${model}&health=false`,
    payload: form.payload,
    headers: { ...form.headers, ...operator.headers },
  });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

before(async () => {
  if (shippedModelSkip) return;
  t = await startTestApp({ serving: true });
  operator = await signedInUser(t, 'operator');
  const root = join(t.config.dataDir, 'datasets', 'pond');
  for (const [split, n, offset] of [
    ['train', 14, 0],
    ['val', 6, 1000],
  ] as const)
    for (const hue of ['red', 'blue'] as const) {
      mkdirSync(join(root, split, hue), { recursive: true });
      for (let i = 0; i < n; i++)
        writeFileSync(
          join(root, split, hue, `${hue}-${offset + i}.png`),
          await blob(hue, offset + i),
        );
    }
});
after(() => t?.close());

suite('a new class from feedback', { skip: shippedModelSkip, timeout: 600_000 }, () => {
  test('operators label a species the model does not know; the retrained version classifies it', async () => {
    const trained = await waitForTask(
      (
        await post('/api/v1/models/train', {
          task: 'species',
          data_dir: 'pond/train',
          val_dir: 'pond/val',
          name: 'pond',
          backbone: 'mnv2-140-128-b16',
          taps: ['b13_expand', 'b16_out'],
        })
      ).json().task_id,
    );
    assert.equal(trained.state, 'succeeded', JSON.stringify(trained.error));

    // Green fish: the model can only answer red or blue.
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const body = await classify(await blob('green', 3000 + i), 'pond');
      assert.ok(['red', 'blue'].includes(body.label));
      ids.push(body.prediction_id);
    }
    // Without new_class a foreign label is a typo to refuse; viewers may not add classes.
    const typo = await post(`/api/v1/predictions/${ids[0]}/feedback`, { label: 'green' });
    assert.equal(typo.statusCode, 400);
    assert.match(typo.json().detail, /new_class/);
    const bad = await post(`/api/v1/predictions/${ids[0]}/feedback`, {
      label: 'Green Fish!',
      new_class: true,
    });
    assert.equal(bad.statusCode, 400);
    const viewer = await signedInUser(t, 'viewer');
    const denied = await post(
      `/api/v1/predictions/${ids[0]}/feedback`,
      { label: 'green', new_class: true },
      viewer.headers,
    );
    assert.equal(denied.statusCode, 403);
    for (const id of ids) {
      const fb = await post(`/api/v1/predictions/${id}/feedback`, {
        label: 'green',
        new_class: true,
      });
      assert.equal(fb.statusCode, 200, fb.body);
    }

    const retrain = await post('/api/v1/models/pond/retrain', {});
    assert.equal(retrain.statusCode, 202, retrain.body);
    assert.deepEqual(retrain.json().feedback.new_classes, { green: 8 });
    const retrained = await waitForTask(retrain.json().task_id);
    assert.equal(retrained.state, 'succeeded', JSON.stringify(retrained.error));
    assert.deepEqual(retrained.result.model, { name: 'pond', version: 2, aliases: ['challenger'] });
    const v2 = await t.ctx.registry.resolve('pond@2');
    assert.deepEqual(v2.manifest.labels, ['blue', 'green', 'red']);

    // Green fish the operators never labelled: the new version names them.
    let green = 0;
    for (let i = 0; i < 6; i++) {
      const body = await classify(await blob('green', 9000 + i), 'pond@2');
      if (body.label === 'green') green++;
    }
    assert.ok(green >= 5, `${green} of 6 unseen green images classified green`);
    // The known classes still come back as themselves.
    assert.equal((await classify(await blob('red', 9100), 'pond@2')).label, 'red');
    assert.equal((await classify(await blob('blue', 9101), 'pond@2')).label, 'blue');
  });
});
