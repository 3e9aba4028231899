import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import sharp from 'sharp';

/** Backbones converted by one test run are reused by the next. */
export const TEST_STORE = join(tmpdir(), 'aquaml-test-store');

export const DATASETS_DIR = resolve(process.env.AQUAML_DATASETS_DIR ?? '../shared/data');
export const hasDataset = (name: string): boolean => existsSync(join(DATASETS_DIR, name, 'train'));

/**
 * Why an accuracy suite does not run here, or false. They train and score models on the data
 * sets and use no service: .ci/run measures them in its embedded pass, not again in the pass
 * against PostgreSQL, Redis and MQTT (where DATABASE_URL is set).
 */
export function accuracySkip(dataset: string): string | false {
  if (!hasDataset(dataset))
    return `no ${dataset} data under ${DATASETS_DIR} (set AQUAML_DATASETS_DIR)`;
  if (process.env.DATABASE_URL)
    return 'measured in the embedded pass: it uses no service (unset DATABASE_URL to run it)';
  return false;
}

/** A small synthetic photo-like image: gradients plus a few coloured ellipses. */
export async function syntheticImage(seed: number, w = 200, h = 140): Promise<Buffer> {
  const raw = Buffer.alloc(w * h * 3);
  let s = seed * 2654435761;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) >>> 0) % 10000) / 10000;
  const blobs = Array.from({ length: 4 }, () => ({
    cx: rnd() * w,
    cy: rnd() * h,
    rx: 10 + rnd() * 40,
    ry: 8 + rnd() * 30,
    c: [rnd() * 255, rnd() * 255, rnd() * 255],
  }));
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      let c = [(x / w) * 120 + seed * 10, (y / h) * 160, 90 + 40 * Math.sin((x + y) / 9)];
      for (const b of blobs) if (((x - b.cx) / b.rx) ** 2 + ((y - b.cy) / b.ry) ** 2 < 1) c = b.c;
      raw[i] = c[0] & 255;
      raw[i + 1] = c[1] & 255;
      raw[i + 2] = c[2] & 255;
    }
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}
