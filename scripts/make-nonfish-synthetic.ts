// Deterministic synthetic non-fish images of what a farm camera sees when no fish is in view:
// flat water with sensor noise, gradients, smooth texture, murky water with suspended particles,
// netting, and heavily blurred frames (of the non-fish photos). Sized like the fish crops
// (48-200 px). One folder per kind, so the open-set figures can be read per source.
// Usage: node bin/run-ts.js scripts/make-nonfish-synthetic.ts <photos dir> <out dir>
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';

const [photos, dst] = process.argv.slice(2);
if (!photos || !dst) throw new Error('usage: make-nonfish-synthetic.ts <photos dir> <out dir>');
const PER_KIND = 40;
let seed = 20261130;
const rnd = (): number => {
  // mulberry32: small, seeded, the same on every machine.
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
const clamp = (v: number): number => Math.max(0, Math.min(255, Math.round(v)));
/** Water as underwater cameras see it: blue, green, teal, brown (silt) and grey. */
const WATER: readonly (readonly [number, number, number])[] = [
  [30, 80, 110],
  [40, 110, 90],
  [60, 120, 110],
  [90, 100, 60],
  [110, 95, 70],
  [80, 85, 90],
  [20, 50, 70],
  [130, 150, 140],
];
const water = (): number[] => {
  const w = WATER[Math.floor(rnd() * WATER.length)]!;
  const k = 0.6 + rnd() * 0.8;
  return w.map((c) => c * k);
};
const size = (): { w: number; h: number } => {
  const w = 48 + Math.floor(rnd() * 152);
  return { w, h: Math.max(32, Math.round(w * (0.5 + rnd() * 0.5))) };
};

/** Smooth value noise in [0, 1]: bilinear interpolation of a random grid, a few octaves. */
function valueNoise(w: number, h: number, cell: number, octaves: number): Float32Array {
  const out = new Float32Array(w * h);
  let amp = 1;
  let total = 0;
  for (let o = 0; o < octaves; o++, cell = Math.max(2, cell / 2), amp /= 2) {
    const gw = Math.ceil(w / cell) + 2;
    const gh = Math.ceil(h / cell) + 2;
    const grid = Float32Array.from({ length: gw * gh }, rnd);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const fx = x / cell;
        const fy = y / cell;
        const x0 = Math.floor(fx);
        const y0 = Math.floor(fy);
        const tx = fx - x0;
        const ty = fy - y0;
        const g = (i: number, j: number) => grid[j * gw + i]!;
        const top = g(x0, y0) * (1 - tx) + g(x0 + 1, y0) * tx;
        const bottom = g(x0, y0 + 1) * (1 - tx) + g(x0 + 1, y0 + 1) * tx;
        out[y * w + x]! += amp * (top * (1 - ty) + bottom * ty);
      }
    total += amp;
  }
  return out.map((v) => v / total);
}

type Painter = (w: number, h: number, rgb: Uint8Array) => void;

const painters: Record<string, Painter> = {
  flat: (w, h, rgb) => {
    const c = water();
    const sigma = 2 + rnd() * 8;
    for (let i = 0; i < w * h; i++)
      for (let k = 0; k < 3; k++) rgb[i * 3 + k] = clamp(c[k]! + gauss() * sigma);
  },
  gradient: (w, h, rgb) => {
    const a = water();
    const b = water();
    const angle = rnd() * Math.PI * 2;
    const [dx, dy] = [Math.cos(angle), Math.sin(angle)];
    const radial = rnd() < 0.3;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const u = radial
          ? Math.min(1, Math.hypot(x / w - 0.5, y / h - 0.5) * 1.6)
          : Math.min(1, Math.max(0, 0.5 + (x / w - 0.5) * dx + (y / h - 0.5) * dy));
        for (let k = 0; k < 3; k++)
          rgb[(y * w + x) * 3 + k] = clamp(a[k]! * (1 - u) + b[k]! * u + gauss() * 2);
      }
  },
  texture: (w, h, rgb) => {
    const a = water();
    const b = water();
    const n = valueNoise(w, h, 4 + rnd() * 28, 4);
    for (let i = 0; i < w * h; i++)
      for (let k = 0; k < 3; k++)
        rgb[i * 3 + k] = clamp(a[k]! + (b[k]! - a[k]! + 60) * (n[i]! - 0.5) * 2);
  },
  murky: (w, h, rgb) => {
    const c = water();
    const haze = valueNoise(w, h, 24 + rnd() * 40, 2);
    for (let i = 0; i < w * h; i++)
      for (let k = 0; k < 3; k++)
        rgb[i * 3 + k] = clamp(c[k]! * (0.75 + 0.5 * haze[i]!) + gauss() * 3);
    const particles = Math.floor(w * h * (0.002 + rnd() * 0.01));
    for (let p = 0; p < particles; p++) {
      const x = Math.floor(rnd() * w);
      const y = Math.floor(rnd() * h);
      const bright = 40 + rnd() * 80;
      const r = rnd() < 0.8 ? 0 : 1;
      for (let yy = y - r; yy <= y + r; yy++)
        for (let xx = x - r; xx <= x + r; xx++)
          if (xx >= 0 && yy >= 0 && xx < w && yy < h)
            for (let k = 0; k < 3; k++)
              rgb[(yy * w + xx) * 3 + k] = clamp(rgb[(yy * w + xx) * 3 + k]! + bright);
    }
  },
  net: (w, h, rgb) => {
    painters.murky!(w, h, rgb);
    const pitch = 6 + rnd() * 18;
    const thick = 1 + rnd() * 2;
    const angle = (rnd() * Math.PI) / 2;
    const [cs, sn] = [Math.cos(angle), Math.sin(angle)];
    const twine = rnd() < 0.5 ? [20, 20, 20] : [170, 170, 160];
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const u = (x * cs + y * sn) / pitch;
        const v = (-x * sn + y * cs) / pitch;
        const d = Math.min(Math.abs(u - Math.round(u)), Math.abs(v - Math.round(v))) * pitch;
        if (d < thick / 2)
          for (let k = 0; k < 3; k++) rgb[(y * w + x) * 3 + k] = clamp(twine[k]! + gauss() * 6);
      }
  },
};

for (const [kind, paint] of Object.entries(painters)) {
  const dir = join(dst, kind);
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < PER_KIND; i++) {
    const { w, h } = size();
    const rgb = new Uint8Array(w * h * 3);
    paint(w, h, rgb);
    const blur = kind === 'net' || kind === 'murky' ? rnd() * 1.5 : 0;
    let img = sharp(rgb, { raw: { width: w, height: h, channels: 3 } });
    if (blur > 0.3) img = img.blur(blur);
    await img.png().toFile(join(dir, `${kind}-${String(i).padStart(2, '0')}.png`));
  }
}

// Blurred frames: out-of-focus or moving-camera views of the (non-fish) photos.
const dir = join(dst, 'blurred');
await mkdir(dir, { recursive: true });
const sources = (await readdir(photos)).sort();
for (let i = 0; i < PER_KIND; i++) {
  const src = join(photos, sources[i % sources.length]!);
  const { width = 0, height = 0 } = await sharp(src).metadata();
  const side = Math.round(Math.min(width, height) * (0.2 + rnd() * 0.5));
  const left = Math.floor(rnd() * (width - side));
  const top = Math.floor(rnd() * (height - side));
  const { w, h } = size();
  await sharp(src)
    .extract({ left, top, width: side, height: side })
    .resize(w, h, { fit: 'fill' })
    .blur(3 + rnd() * 6)
    .png()
    .toFile(join(dir, `blurred-${String(i).padStart(2, '0')}.png`));
}
