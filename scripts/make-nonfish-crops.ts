// Deterministic small crops (about the size of the fish crops, 40-160 px) from the non-fish
// photos, so the open-set check also sees low-resolution patches, not only whole photos.
import { mkdir, readdir } from 'node:fs/promises';
import { join, parse } from 'node:path';
import sharp from 'sharp';

const [src, dst] = process.argv.slice(2);
if (!src || !dst) throw new Error('usage: make-nonfish-crops.ts <photos dir> <crops dir>');
await mkdir(dst, { recursive: true });
let seed = 12345;
const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % 100000) / 100000;
for (const f of (await readdir(src)).sort()) {
  const img = sharp(join(src, f));
  const { width = 0, height = 0 } = await img.metadata();
  for (let i = 0; i < 12; i++) {
    const side = Math.round(Math.min(width, height) * (0.15 + rnd() * 0.35));
    const left = Math.floor(rnd() * (width - side));
    const top = Math.floor(rnd() * (height - side * 0.7));
    const h = Math.min(Math.round(side * 0.7), height - top);
    const out = 40 + Math.round(rnd() * 120);
    await sharp(join(src, f))
      .extract({ left, top, width: side, height: h })
      .resize(out)
      .png()
      .toFile(join(dst, `${parse(f).name}-crop${i}.png`));
  }
}
