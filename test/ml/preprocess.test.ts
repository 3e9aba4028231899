import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { ImageInputError, inspectImage, preprocess, specKey } from '../../src/ml/preprocess.ts';
import { syntheticImage } from './helpers.ts';

const spec = { size: 32, fit: 'stretch', kernel: 'lanczos3', scale: '0..1' } as const;

async function rejects(input: Buffer, code: string, status: number): Promise<void> {
  await assert.rejects(preprocess(input, spec), (e: unknown) => {
    assert.ok(e instanceof ImageInputError, `expected ImageInputError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.httpStatus, status);
    return true;
  });
}

/** A real, valid 20000x20000 1-bit PNG (about 50 KB): a decompression bomb. */
function bombPng(side = 20000): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer): number => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  const raw = Buffer.alloc(side * (1 + Math.ceil(side / 8)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

test('valid JPEG, PNG and WebP give NHWC float32 in [0, 1]', async () => {
  const png = await syntheticImage(3);
  for (const buf of [png, await sharp(png).jpeg().toBuffer(), await sharp(png).webp().toBuffer()]) {
    const x = await preprocess(buf, spec);
    assert.equal(x.length, 32 * 32 * 3);
    assert.ok(x.every((v) => v >= 0 && v <= 1));
    assert.ok(x.some((v) => v > 0.1));
  }
});

test('AVIF and TIFF, read through their header check, decode too; inspectImage accepts them', async () => {
  const png = await syntheticImage(3);
  for (const buf of [await sharp(png).avif().toBuffer(), await sharp(png).tiff().toBuffer()]) {
    await inspectImage(buf);
    const x = await preprocess(buf, spec);
    assert.equal(x.length, 32 * 32 * 3);
  }
});

test('inspectImage reads a file only as far as its header: random bytes → unsupported_format', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aquaml-inspect-'));
  try {
    const path = join(dir, 'noise.jpg');
    writeFileSync(path, randomBytes(4 * 1024 * 1024));
    await assert.rejects(inspectImage({ path, bytes: 4 * 1024 * 1024 }), (e: unknown) => {
      assert.ok(e instanceof ImageInputError && e.code === 'unsupported_format');
      return true;
    });
    const png = join(dir, 'fish.png');
    const bytes = await syntheticImage(3);
    writeFileSync(png, bytes);
    await inspectImage({ path: png, bytes: bytes.length });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('alpha is flattened onto black and greyscale becomes RGB', async () => {
  const rgba = await sharp({
    create: {
      width: 20,
      height: 20,
      channels: 4,
      background: { r: 255, g: 255, b: 255, alpha: 0 },
    },
  })
    .png()
    .toBuffer();
  const x = await preprocess(rgba, spec);
  assert.ok(x.every((v) => v === 0));
  const grey = await sharp({
    create: { width: 20, height: 20, channels: 3, background: { r: 128, g: 128, b: 128 } },
  })
    .greyscale()
    .png()
    .toBuffer();
  const g = await preprocess(grey, spec);
  assert.equal(g.length, 32 * 32 * 3);
  assert.ok(Math.abs(g[0] - 128 / 255) < 0.02);
});

test('a centre crop keeps the middle of each side and drops the border, in both resamplers', async () => {
  // 100x80 red, with a blue centre of 70x56: the centre half of each side is well inside it.
  const blue = await sharp({
    create: { width: 70, height: 56, channels: 3, background: { r: 0, g: 0, b: 255 } },
  })
    .png()
    .toBuffer();
  const img = await sharp({
    create: { width: 100, height: 80, channels: 3, background: { r: 255, g: 0, b: 0 } },
  })
    .composite([{ input: blue, left: 15, top: 12 }])
    .png()
    .toBuffer();
  const red = (x: Float32Array, row: number, col: number): number => x[(row * 32 + col) * 3];
  for (const kernel of ['lanczos3', 'bilinear'] as const) {
    const whole = await preprocess(img, { ...spec, kernel });
    assert.ok(red(whole, 0, 0) > 0.9, `${kernel}: the whole image keeps its red border`);
    const centre = await preprocess(img, { ...spec, kernel, crop: 0.5 });
    assert.equal(centre.length, 32 * 32 * 3);
    for (const [row, col] of [
      [0, 0],
      [0, 31],
      [31, 0],
      [16, 16],
    ])
      assert.ok(
        red(centre, row, col) < 0.15,
        `${kernel}: red ${red(centre, row, col)} at ${row},${col}`,
      );
  }
  // Crops name their own embedding-cache key; no crop keeps the old key.
  assert.equal(specKey(spec), '32/stretch/lanczos3/0..1');
  assert.equal(specKey({ ...spec, crop: 0.7 }), '32/stretch/lanczos3/0..1/crop0.7');
  await assert.rejects(preprocess(img, { ...spec, crop: 0.2 }), /between 0.5 and 1/);
  await assert.rejects(preprocess(img, { ...spec, fit: 'letterbox', crop: 0.7 }), /needs fit/);
});

test('EXIF orientation is applied before resizing', async () => {
  // 40x20 landscape stored with orientation 6 (rotate 90°) is shown as a 20x40 portrait:
  // letterboxed into a square, its left and right columns are padding (black).
  const white = await sharp({
    create: { width: 40, height: 20, channels: 3, background: { r: 255, g: 255, b: 255 } },
  })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toBuffer();
  const x = await preprocess(white, { ...spec, fit: 'letterbox' });
  const at = (row: number, col: number): number => x[(row * 32 + col) * 3];
  assert.equal(at(16, 0), 0);
  assert.ok(at(16, 16) > 0.9);
  assert.ok(at(0, 16) > 0.9);
});

test('0-byte input → empty (400)', () => rejects(Buffer.alloc(0), 'empty', 400));

test('text named .jpg → unsupported_format (415)', () =>
  rejects(Buffer.from('this is not a picture, just text\n'.repeat(10)), 'unsupported_format', 415));

test('SVG is refused → unsupported_format (415)', () =>
  rejects(
    Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
    ),
    'unsupported_format',
    415,
  ));

test('20000x20000 PNG is refused from its header → too_many_pixels (413), quickly', async () => {
  const bomb = bombPng();
  const t0 = performance.now();
  await rejects(bomb, 'too_many_pixels', 413);
  assert.ok(performance.now() - t0 < 1000, 'must not decode the pixels');
});

test('30 MB upload → too_large (413)', () =>
  rejects(Buffer.alloc(30 * 1024 * 1024, 1), 'too_large', 413));

test('truncated JPEG and PNG → corrupt (400)', async () => {
  const png = await syntheticImage(5, 300, 200);
  const jpg = await sharp(png).jpeg({ quality: 90 }).toBuffer();
  await rejects(jpg.subarray(0, Math.floor(jpg.length / 2)), 'corrupt', 400);
  await rejects(png.subarray(0, Math.floor(png.length / 2)), 'corrupt', 400);
});

test('corrupt pixel data → corrupt (400)', async () => {
  const png = Buffer.from(await syntheticImage(6, 300, 200));
  // Keep the header, destroy the compressed data.
  for (let i = 100; i < png.length - 20; i++) png[i] = (i * 31) & 255;
  await rejects(png, 'corrupt', 400);
});

test('a known image signature that cannot be parsed → corrupt (400), not unsupported (415)', async () => {
  const png = await syntheticImage(7, 64, 64);
  const jpg = await sharp(png).jpeg().toBuffer();
  const gif = await sharp(png).gif().toBuffer();
  const webp = await sharp(png).webp().toBuffer();
  const tiff = await sharp(png).tiff().toBuffer();
  // Signature and a few header bytes, then garbage: sharp cannot even read the header.
  for (const [name, img] of Object.entries({ png, jpg, gif, webp, tiff })) {
    const broken = Buffer.concat([img.subarray(0, 60), Buffer.alloc(200, 7)]);
    await assert.rejects(preprocess(broken, spec), (e: unknown) => {
      assert.ok(
        e instanceof ImageInputError,
        `${name}: expected ImageInputError, got ${String(e)}`,
      );
      assert.equal(e.code, 'corrupt', `${name}: ${e.message}`);
      assert.equal(e.httpStatus, 400);
      return true;
    });
  }
  // Signatures alone (nothing else) are corrupt too; unknown bytes stay unsupported.
  await rejects(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 'corrupt', 400);
  await rejects(Buffer.from('II*\0garbage-garbage-garbage'), 'corrupt', 400);
  await rejects(Buffer.from('RIFF\0\0\0\0WAVEfmt garbage-garbage'), 'unsupported_format', 415);
});

test('decoding runs off the event loop', async () => {
  const big = await sharp({
    create: { width: 3000, height: 2000, channels: 3, background: { r: 10, g: 90, b: 200 } },
  })
    .jpeg()
    .toBuffer();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  await Promise.all([1, 2, 3].map(() => preprocess(big, { ...spec, size: 224 })));
  clearInterval(timer);
  assert.ok(ticks > 0, 'timers kept firing while images decoded');
});
