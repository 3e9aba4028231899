// The classify path end to end on the shipped species model: contract, storage, feedback, bad input.
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { signedInUser, startTestApp, type TestApp, type TestUser } from '../support/app.ts';
import { imageForm, multipart, noisePng, solidJpeg } from '../support/images.ts';
import { shippedModelSkip } from '../support/models.ts';

let t: TestApp;
let user: TestUser;

before(async () => {
  if (shippedModelSkip) return;
  t = await startTestApp({ serving: true });
  user = await signedInUser(t, 'operator');
});
after(() => t?.close());

function classify(form: { payload: Buffer; headers: Record<string, string> }, query = '') {
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/predictions/classify${query}`,
    payload: form.payload,
    headers: { ...form.headers, ...user.headers },
  });
}

/** A valid PNG whose header claims width x height pixels (a decompression bomb by its header). */
function pngClaiming(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(8 + data.length + 4);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1 + width * 3))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('classify', { skip: shippedModelSkip }, () => {
  test('answers with species, confidence, top-k, model and timings, and stores the prediction', async () => {
    const res = await classify(
      imageForm(await noisePng(120, 90, 7), { unit_id: 'pen-3', device_id: 'cam-1' }),
      '?top_k=3',
    );
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.match(body.prediction_id, /^[0-9a-f-]{36}$/);
    assert.ok(['ok', 'unknown'].includes(body.status));
    assert.equal(body.top_k.length, 3);
    assert.ok(body.top_k[0].confidence >= body.top_k[1].confidence);
    assert.equal(body.model.name, 'species');
    assert.equal(body.model.route, 'champion');
    assert.ok(body.inference_ms > 0);
    if (body.status === 'unknown') assert.equal(body.species, null);

    const history = await t.app.inject({
      url: '/api/v1/predictions/history?unit_id=pen-3',
      headers: user.headers,
    });
    assert.equal(history.statusCode, 200);
    const stored = history.json().items.find((p: { id: string }) => p.id === body.prediction_id);
    assert.ok(stored, 'the prediction is stored');
    assert.equal(stored.device_id, 'cam-1');
    assert.equal(stored.model.version, body.model.version);
  });

  test('a noise image is unknown, with the candidates still listed', async () => {
    const res = await classify(imageForm(await noisePng(64, 64, 99)));
    const body = res.json();
    assert.equal(body.status, 'unknown');
    assert.equal(body.species, null);
    assert.ok(body.top_k.length >= 1 && body.label);
    assert.equal(body.unknown_reason, 'not_a_fish');
  });

  test('the same image again is answered from the cache', async () => {
    const image = await solidJpeg(10, 80, 120);
    await classify(imageForm(image));
    const again = (await classify(imageForm(image))).json();
    assert.equal(again.cached, true);
  });

  test('feedback records the true label and feeds accuracy; a foreign label is 400', async () => {
    const { prediction_id, label } = (await classify(imageForm(await noisePng(80, 80, 5)))).json();
    const url = `/api/v1/predictions/${prediction_id}/feedback`;
    const bad = await t.app.inject({
      method: 'POST',
      url,
      headers: user.headers,
      payload: { label: 'giraffe' },
    });
    assert.equal(bad.statusCode, 400);
    const ok = await t.app.inject({
      method: 'POST',
      url,
      headers: user.headers,
      payload: { label, note: 'checked' },
    });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().feedback.label, label);
    const stats = (
      await t.app.inject({ url: '/api/v1/predictions/stats', headers: user.headers })
    ).json();
    assert.ok(stats.total >= 1);
    assert.ok(stats.feedback.count >= 1);
    const missing = await t.app.inject({
      method: 'POST',
      url: '/api/v1/predictions/00000000-0000-4000-8000-000000000000/feedback',
      headers: user.headers,
      payload: { label },
    });
    assert.equal(missing.statusCode, 404);
  });

  test('the recognised species list comes from the serving model', async () => {
    const res = await t.app.inject({ url: '/api/v1/predictions/species', headers: user.headers });
    assert.equal(res.statusCode, 200);
    const items = res.json().items as { label: string; scientific_name: string }[];
    assert.equal(items.length, 10);
    assert.ok(items.some((i) => i.scientific_name === 'Amphiprion clarkii'));
  });
});

describe(
  'bad uploads get a clear 4xx and the service keeps serving',
  { skip: shippedModelSkip },
  () => {
    const cases: [
      string,
      () => Promise<{ payload: Buffer; headers: Record<string, string> }>,
      number,
      RegExp,
    ][] = [
      ['a 0-byte file', async () => imageForm(Buffer.alloc(0)), 400, /empty/],
      [
        'a text file named .jpg',
        async () => imageForm(Buffer.from('not an image at all\n'), {}, 'fish.jpg'),
        415,
        /format/,
      ],
      [
        'a corrupt PNG',
        async () => {
          const png = await noisePng(64, 64, 3);
          return imageForm(Buffer.concat([png.subarray(0, 60), Buffer.alloc(200, 7)]));
        },
        400,
        /decoded|corrupt|format/,
      ],
      ['a 20000x20000 PNG', async () => imageForm(pngClaiming(20_000, 20_000)), 413, /pixels/],
      [
        'a 30 MB upload',
        async () => imageForm(Buffer.alloc(30 * 1024 * 1024, 1)),
        413,
        /too large/,
      ],
      [
        'no file field',
        async () => multipart([{ name: 'unit_id', value: 'pen-1' }]),
        400,
        /no "file"/,
      ],
    ];
    for (const [name, make, status, detail] of cases) {
      test(name, async () => {
        const res = await classify(await make());
        assert.equal(res.statusCode, status, res.body);
        assert.match(res.json().detail, detail);
      });
    }

    test('JSON instead of multipart is 415', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/predictions/classify',
        headers: user.headers,
        payload: { file: 'x' },
      });
      assert.equal(res.statusCode, 415);
    });

    test('after all of that, a good image is still classified', async () => {
      const res = await classify(
        imageForm(
          await sharp(await noisePng(90, 60, 11))
            .webp()
            .toBuffer(),
          {},
          'x.webp',
        ),
      );
      assert.equal(res.statusCode, 200, res.body);
    });
  },
);
