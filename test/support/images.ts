import { randomBytes } from 'node:crypto';
import sharp from 'sharp';

/** A PNG of pseudo-random noise; `seed` makes each image different (so the cache misses). */
export async function noisePng(width = 96, height = 64, seed = 1): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < pixels.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    pixels[i] = x >>> 24;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/**
 * A side x side RGB PNG of Gaussian noise stored uncompressed: side 2560 is 18.8 MiB, a large
 * upload the model really decodes (noisePng's pattern compresses to almost nothing).
 */
export function uncompressedNoisePng(side: number): Promise<Buffer> {
  return sharp({
    create: {
      width: side,
      height: side,
      channels: 3,
      noise: { type: 'gaussian', mean: 128, sigma: 40 },
      background: { r: 0, g: 0, b: 0 },
    },
  })
    .png({ compressionLevel: 0 })
    .toBuffer();
}

export function solidJpeg(
  r: number,
  g: number,
  b: number,
  width = 120,
  height = 80,
): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r, g, b } } })
    .jpeg()
    .toBuffer();
}

export interface Part {
  name: string;
  value: Buffer | string;
  filename?: string;
  contentType?: string;
}

/** A multipart/form-data body for app.inject. */
export function multipart(parts: Part[]): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----aquaml${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}`;
    const type = p.filename
      ? `\r\nContent-Type: ${p.contentType ?? 'application/octet-stream'}`
      : '';
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}${type}\r\n\r\n`));
    chunks.push(Buffer.isBuffer(p.value) ? p.value : Buffer.from(p.value));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    payload: Buffer.concat(chunks),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

/** One image as the "file" field, plus optional text fields. */
export function imageForm(
  image: Buffer,
  fields: Record<string, string> = {},
  filename = 'fish.png',
) {
  return multipart([
    { name: 'file', value: image, filename, contentType: 'image/png' },
    ...Object.entries(fields).map(([name, value]) => ({ name, value })),
  ]);
}
