// KServe Open Inference Protocol v2 routes against the shipped species model.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { signedInUser, startTestApp, type TestApp, type TestUser } from '../support/app.ts';
import { noisePng, solidJpeg } from '../support/images.ts';
import { suite } from '../support/suite.ts';

const MODEL = 'species';
/** A small upload limit, so the body limit of the infer route can be tested cheaply. */
const MAX_UPLOAD_BYTES = 300_000;

function shippedVersions(): number[] {
  const dir = join(loadConfig({ overrides: { NODE_ENV: 'test' } }).models.shippedDir, MODEL);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((d) => /^\d+$/.test(d) && existsSync(join(dir, d, 'manifest.json')))
    .map(Number);
}

const skip = shippedVersions().length
  ? false
  : `no shipped model models/${MODEL}/<version>/ to serve; the v2 routes need a registered model`;

const b64 = (buf: Buffer) => buf.toString('base64');

function inferBody(images: Buffer[], extra: Record<string, unknown> = {}) {
  return {
    id: 'req-1',
    inputs: [{ name: 'image', shape: [images.length], datatype: 'BYTES', data: images.map(b64) }],
    ...extra,
  };
}

interface Output {
  name: string;
  datatype: string;
  shape: number[];
  data: (string | number)[];
}

const output = (body: { outputs: Output[] }, name: string) => {
  const o = body.outputs.find((x) => x.name === name);
  assert.ok(o, `no output ${name} in ${JSON.stringify(body.outputs.map((x) => x.name))}`);
  return o;
};

/** The binary tensor extension: JSON header, then each BYTES element as length (u32 LE) + bytes. */
function binaryRequest(images: Buffer[], extra: Record<string, unknown> = {}) {
  const raw = Buffer.concat(
    images.flatMap((img) => {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(img.length);
      return [len, img];
    }),
  );
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: 'image',
          shape: [images.length],
          datatype: 'BYTES',
          parameters: { binary_data_size: raw.length },
        },
      ],
      ...extra,
    }),
  );
  return { payload: Buffer.concat([header, raw]), headerLength: header.length };
}

suite('KServe Open Inference Protocol v2', { skip }, () => {
  let t: TestApp;
  let viewer: TestUser;
  let champion: number;
  let labels: string[];
  let images: { noise: Buffer; noise2: Buffer; blue: Buffer; orange: Buffer };

  before(async () => {
    t = await startTestApp({
      serving: true,
      overrides: { AQUAML_MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) },
    });
    viewer = await signedInUser(t, 'viewer');
    const row = await t.ctx.registry.resolve({ name: MODEL, selector: 'champion' });
    champion = row.version;
    labels = row.manifest.labels as string[];
    images = {
      noise: await noisePng(96, 64, 1),
      noise2: await noisePng(64, 96, 2),
      blue: await solidJpeg(20, 60, 200),
      orange: await solidJpeg(240, 140, 20),
    };
  });
  after(() => t?.close());

  const get = (url: string, headers: Record<string, string> = viewer.headers) =>
    t.app.inject({ method: 'GET', url, headers });
  const post = (url: string, payload: unknown, headers: Record<string, string> = viewer.headers) =>
    t.app.inject({ method: 'POST', url, payload: payload as object, headers });

  test('server metadata, liveness and readiness are public', async () => {
    const meta = await get('/v2', {});
    assert.equal(meta.statusCode, 200, meta.body);
    assert.equal(meta.json().name, 'aquaml');
    assert.equal(meta.json().version, t.ctx.version);
    assert.ok(Array.isArray(meta.json().extensions));
    const live = await get('/v2/health/live', {});
    assert.equal(live.statusCode, 200);
    assert.deepEqual(live.json(), { live: true });
    const ready = await get('/v2/health/ready', {});
    assert.equal(ready.statusCode, 200, ready.body);
    assert.deepEqual(ready.json(), { ready: true });

    // Not ready while /ready is not (e.g. models still loading): 503 naming the condition.
    const done = t.ctx.probes.waitFor('models-reloading');
    try {
      const waiting = await get('/v2/health/ready', {});
      assert.equal(waiting.statusCode, 503);
      assert.match(waiting.json().error, /models-reloading/);
    } finally {
      done();
    }
    assert.equal((await get('/v2/health/ready', {})).statusCode, 200);
  });

  test('model routes need credentials: 401 {error} without, 200 with a token or an API key', async () => {
    const anonymous = await get(`/v2/models/${MODEL}`, {});
    assert.equal(anonymous.statusCode, 401);
    assert.equal(typeof anonymous.json().error, 'string');
    const inferAnonymous = await post(`/v2/models/${MODEL}/infer`, inferBody([images.blue]), {});
    assert.equal(inferAnonymous.statusCode, 401);
    assert.ok(inferAnonymous.json().error);

    assert.equal((await get(`/v2/models/${MODEL}`)).statusCode, 200);
    const { key } = await t.ctx.apiKeys.create({
      name: 'v2 client',
      role: 'viewer',
      createdBy: null,
    });
    const withKey = await post(`/v2/models/${MODEL}/infer`, inferBody([images.blue]), {
      'x-api-key': key,
    });
    assert.equal(withKey.statusCode, 200, withKey.body);
    assert.equal(output(withKey.json(), 'label').data.length, 1);
  });

  test('model metadata names the served versions and the tensors', async () => {
    const res = await get(`/v2/models/${MODEL}`);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.name, MODEL);
    assert.ok(body.versions.includes(String(champion)));
    assert.equal(body.platform, 'onnxruntime');
    assert.deepEqual(body.inputs, [{ name: 'image', datatype: 'BYTES', shape: [-1] }]);
    const outputs = Object.fromEntries(
      body.outputs.map((o: Output) => [o.name, o.datatype] as const),
    );
    assert.equal(outputs.label, 'BYTES');
    assert.equal(outputs.confidence, 'FP32');
    assert.equal(outputs.status, 'BYTES');
    assert.equal(outputs.top_k, 'BYTES');

    const version = await get(`/v2/models/${MODEL}/versions/${champion}`);
    assert.equal(version.statusCode, 200, version.body);
    assert.deepEqual(version.json().versions, [String(champion)]);
    const alias = await get(`/v2/models/${MODEL}/versions/champion`);
    assert.deepEqual(alias.json().versions, [String(champion)]);

    const unknown = await get('/v2/models/no-such-model');
    assert.equal(unknown.statusCode, 404);
    assert.match(unknown.json().error, /no-such-model/);
    const noVersion = await get(`/v2/models/${MODEL}/versions/999`);
    assert.equal(noVersion.statusCode, 404);
    assert.ok(noVersion.json().error);
    const badName = await get('/v2/models/Bad%20Name');
    assert.equal(badName.statusCode, 400);
    assert.ok(badName.json().error);
  });

  test('model readiness: 200 for the served and loadable versions, 404 for unknown ones', async () => {
    const res = await get(`/v2/models/${MODEL}/ready`);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().ready, true);
    assert.ok(res.json().versions.includes(String(champion)));
    const version = await get(`/v2/models/${MODEL}/versions/${champion}/ready`);
    assert.equal(version.statusCode, 200, version.body);
    assert.equal(version.json().ready, true);
    assert.equal((await get(`/v2/models/${MODEL}/versions/999/ready`)).statusCode, 404);
    const unknown = await get('/v2/models/no-such-model/ready');
    assert.equal(unknown.statusCode, 404);
    assert.ok(unknown.json().error);
  });

  test('infer with one image returns every output for one element and stores the prediction', async () => {
    const res = await post(`/v2/models/${MODEL}/infer`, inferBody([images.noise]));
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.model_name, MODEL);
    assert.equal(body.model_version, String(champion));
    assert.equal(body.id, 'req-1');
    assert.deepEqual(
      body.outputs.map((o: Output) => o.name),
      ['label', 'confidence', 'status', 'top_k', 'ood_score', 'prediction_id', 'model_version'],
    );
    for (const o of body.outputs as Output[]) {
      assert.deepEqual(o.shape, [1], o.name);
      assert.equal(o.data.length, 1, o.name);
    }
    const label = output(body, 'label').data[0] as string;
    assert.ok(labels.includes(label), `${label} is not a model label`);
    const confidence = output(body, 'confidence').data[0] as number;
    assert.ok(confidence >= 0 && confidence <= 1);
    assert.ok(['ok', 'unknown'].includes(output(body, 'status').data[0] as string));
    const topK = JSON.parse(output(body, 'top_k').data[0] as string);
    assert.equal(topK.length, 5);
    assert.equal(topK[0].label, label);
    assert.equal(output(body, 'model_version').data[0], champion);

    await t.ctx.predictions.writer.flush();
    const stored = await t.ctx.predictions.queries.get(
      output(body, 'prediction_id').data[0] as string,
    );
    assert.ok(stored, 'the prediction is stored');
    assert.equal(stored.source, 'v2');
    assert.equal(stored.label, label);
    assert.equal(stored.userId, viewer.id);
  });

  test('infer with a batch of three images (shape [3]) answers three labels, in order', async () => {
    const batch = [images.blue, images.noise2, images.orange];
    const res = await post(`/v2/models/${MODEL}/infer`, inferBody(batch));
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    const label = output(body, 'label');
    assert.deepEqual(label.shape, [3]);
    assert.equal(label.data.length, 3);
    for (const l of label.data) assert.ok(labels.includes(l as string));
    assert.equal(output(body, 'confidence').data.length, 3);
    assert.equal(new Set(output(body, 'prediction_id').data).size, 3);

    // Element i answers image i: each image alone gets the same label.
    for (let i = 0; i < batch.length; i++) {
      const single = await post(`/v2/models/${MODEL}/infer`, inferBody([batch[i]!]));
      assert.equal(output(single.json(), 'label').data[0], label.data[i]);
    }

    // Shape [n, 1] with nested data is the same tensor.
    const nested = await post(`/v2/models/${MODEL}/infer`, {
      inputs: [
        { name: 'image', shape: [3, 1], datatype: 'BYTES', data: batch.map((b) => [b64(b)]) },
      ],
    });
    assert.equal(nested.statusCode, 200, nested.body);
    assert.deepEqual(output(nested.json(), 'label').data, label.data);
  });

  test('a requested subset of outputs is returned in the requested order; top_k is a parameter', async () => {
    const res = await post(
      `/v2/models/${MODEL}/infer`,
      inferBody([images.blue, images.orange], {
        outputs: [{ name: 'confidence' }, { name: 'top_k' }],
        parameters: { top_k: 2 },
      }),
    );
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.deepEqual(
      body.outputs.map((o: Output) => o.name),
      ['confidence', 'top_k'],
    );
    assert.equal(output(body, 'confidence').datatype, 'FP32');
    for (const k of output(body, 'top_k').data) assert.equal(JSON.parse(k as string).length, 2);

    const unknown = await post(
      `/v2/models/${MODEL}/infer`,
      inferBody([images.blue], { outputs: [{ name: 'logits' }] }),
    );
    assert.equal(unknown.statusCode, 400);
    assert.match(unknown.json().error, /logits/);
  });

  test('a version in the path pins it; an archived version is not ready', async () => {
    const shipped = join(t.config.models.shippedDir, MODEL, String(shippedVersions()[0]));
    const second = await t.ctx.registry.register({ fromDir: shipped, source: 'imported' });
    assert.notEqual(second.version, champion);

    const pinned = await post(
      `/v2/models/${MODEL}/versions/${second.version}/infer`,
      inferBody([images.noise, images.blue]),
    );
    assert.equal(pinned.statusCode, 200, pinned.body);
    assert.equal(pinned.json().model_version, String(second.version));
    assert.deepEqual(output(pinned.json(), 'model_version').data, [second.version, second.version]);
    // Without a version the traffic split (champion only) still answers.
    const routed = await post(`/v2/models/${MODEL}/infer`, inferBody([images.noise]));
    assert.equal(routed.json().model_version, String(champion));
    const byAlias = await post(
      `/v2/models/${MODEL}/versions/champion/infer`,
      inferBody([images.noise]),
    );
    assert.equal(byAlias.json().model_version, String(champion));

    assert.equal(
      (await get(`/v2/models/${MODEL}/versions/${second.version}/ready`)).statusCode,
      200,
    );
    await t.ctx.registry.archive(MODEL, second.version);
    const archived = await get(`/v2/models/${MODEL}/versions/${second.version}/ready`);
    assert.equal(archived.statusCode, 503);
    assert.match(archived.json().error, /archived/);
    const meta = await get(`/v2/models/${MODEL}`);
    assert.ok(!meta.json().versions.includes(String(second.version)));
  });

  test('bad tensors are 400 {error}: base64, not an image, shape, datatype, input name', async () => {
    const url = `/v2/models/${MODEL}/infer`;
    const cases: [string, unknown, RegExp][] = [
      [
        'bad base64',
        {
          inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', data: ['not base64 at all!'] }],
        },
        /base64/,
      ],
      [
        'not an image',
        {
          inputs: [
            {
              name: 'image',
              shape: [1],
              datatype: 'BYTES',
              data: [b64(Buffer.from('hello, this is plain text and no image'))],
            },
          ],
        },
        /image/,
      ],
      [
        'shape and data disagree',
        { inputs: [{ name: 'image', shape: [2], datatype: 'BYTES', data: [b64(images.blue)] }] },
        /shape/,
      ],
      [
        'wrong datatype',
        { inputs: [{ name: 'image', shape: [1], datatype: 'FP32', data: [b64(images.blue)] }] },
        /BYTES/,
      ],
      [
        'wrong input name',
        { inputs: [{ name: 'input-0', shape: [1], datatype: 'BYTES', data: [b64(images.blue)] }] },
        /"image"/,
      ],
      ['no inputs', { inputs: [] }, /inputs/],
    ];
    for (const [what, payload, message] of cases) {
      const res = await post(url, payload);
      assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
      const body = res.json();
      assert.deepEqual(Object.keys(body), ['error'], what);
      assert.match(body.error, message, what);
    }

    // The element that failed is named.
    const batch = await post(url, {
      inputs: [
        {
          name: 'image',
          shape: [2],
          datatype: 'BYTES',
          data: [b64(images.blue), b64(Buffer.from('GIF89a but not really'))],
        },
      ],
    });
    assert.equal(batch.statusCode, 400);
    assert.match(batch.json().error, /element 1/);

    const invalidJson = await t.app.inject({
      method: 'POST',
      url,
      payload: '{"inputs": [',
      headers: { ...viewer.headers, 'content-type': 'application/json' },
    });
    assert.equal(invalidJson.statusCode, 400);
    assert.ok(invalidJson.json().error);
  });

  test('unknown models and versions are 404 {error}; other /v2 paths too', async () => {
    const res = await post('/v2/models/no-such-model/infer', inferBody([images.blue]));
    assert.equal(res.statusCode, 404);
    assert.match(res.json().error, /no-such-model/);
    const version = await post(`/v2/models/${MODEL}/versions/999/infer`, inferBody([images.blue]));
    assert.equal(version.statusCode, 404);
    assert.ok(version.json().error);
    const route = await get('/v2/repository/index');
    assert.equal(route.statusCode, 404);
    assert.ok(route.json().error);
  });

  test('an image over the upload limit, or a body over it in base64, is 413 {error}', async () => {
    const over = await post(
      `/v2/models/${MODEL}/infer`,
      inferBody([Buffer.alloc(MAX_UPLOAD_BYTES + 10_000, 7)]),
    );
    assert.equal(over.statusCode, 413, over.body);
    assert.match(over.json().error, /limit/);
    const huge = await post(
      `/v2/models/${MODEL}/infer`,
      inferBody([Buffer.alloc(Math.ceil(MAX_UPLOAD_BYTES * 1.5), 7)]),
    );
    assert.equal(huge.statusCode, 413, huge.body);
    assert.ok(huge.json().error);
  });

  test('binary tensor extension: raw image bytes after the JSON header', async () => {
    const batch = [images.orange, images.noise];
    const viaJson = await post(`/v2/models/${MODEL}/infer`, inferBody(batch));
    const { payload, headerLength } = binaryRequest(batch, { outputs: [{ name: 'label' }] });
    for (const contentType of ['application/octet-stream', undefined]) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/v2/models/${MODEL}/infer`,
        payload,
        headers: {
          ...viewer.headers,
          'inference-header-content-length': String(headerLength),
          ...(contentType ? { 'content-type': contentType } : {}),
        },
      });
      assert.equal(res.statusCode, 200, `${contentType}: ${res.body}`);
      assert.deepEqual(output(res.json(), 'label').data, output(viaJson.json(), 'label').data);
    }

    const wrongSize = await t.app.inject({
      method: 'POST',
      url: `/v2/models/${MODEL}/infer`,
      payload: payload.subarray(0, payload.length - 10),
      headers: {
        ...viewer.headers,
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(headerLength),
      },
    });
    assert.equal(wrongSize.statusCode, 400);
    assert.match(wrongSize.json().error, /binary/);
  });

  test('the v2 routes are in the OpenAPI document with their schemas', async () => {
    const spec = (await get('/docs/json', {})).json();
    for (const path of [
      '/v2/health/live',
      '/v2/health/ready',
      '/v2/models/{name}',
      '/v2/models/{name}/versions/{version}/ready',
      '/v2/models/{name}/infer',
      '/v2/models/{name}/versions/{version}/infer',
    ]) {
      assert.ok(spec.paths[path], `missing ${path}`);
    }
    const infer = spec.paths['/v2/models/{name}/infer'].post;
    assert.ok(infer.requestBody, 'the infer body is documented');
    assert.ok(infer.responses['200'] && infer.responses['400']);
  });
});
