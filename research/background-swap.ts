// Issue 14, a lever aimed at the weakest class: acanthurus-nigrofuscus's training clips all swim
// in open green water, its val clips over coral and sand (§17), so the head can learn the water
// as much as the fish. Each extra training view keeps a training crop's fish and puts it on
// another training crop's background, taken from a crop of a different class in the same
// cross-validation fold (so a fold never trains on a held-out clip's background), never from val.
// What is kept: a centred disc (`disc:R`), or the fish found without labels (`colour`: pixels far in colour from every sample of the crop's
// border, padding bars excepted, inside a centred ellipse, feathered). Shipped recipe otherwise
// (int8 graph, taps, centre crop, softmax head; each view also mirrored); val and grouped 5-fold
// CV as §17. Not shipped (§25): within the spread of the donor draw, and it cost the open set.
// Usage: node bin/run-ts.js research/background-swap.ts [views=2] [--mask colour|disc:R] [--seed N]
//   [--open-set]
//   [--preview tmp/swap.png]
// (docs/model-research.md §25)
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';
import { backboneInt8 } from '../src/ml/artifact/manifest.ts';
import { BackbonePool, type BackboneSession } from '../src/ml/backbone/session.ts';
import { groupOf } from '../src/ml/data/dataset.ts';
import { listImagesRecursive } from '../src/ml/evaluate/evaluate-model.ts';
import { decodeRgb } from '../src/ml/preprocess.ts';
import type { PreprocessSpec } from '../src/ml/preprocess.ts';
import { rng } from '../src/ml/rng.ts';
import { shippedSpecies } from './shipped.ts';
import { type NonFishRow, noveltyRejection } from './open-set-check.ts';
import { embedPixels, valAndCv } from './val-and-cv.ts';

const args = process.argv.slice(2);
const views = Number(args.find((a, i) => /^\d+$/.test(a) && !args[i - 1]?.startsWith('--')) ?? 2);
const previewAt = args.indexOf('--preview');
const preview = previewAt >= 0 ? args[previewAt + 1] : undefined;
// `colour`: the fish found by colour; `disc:R`: a centred disc of radius R × the stretched crop's
// side is kept (no segmentation: the donor gives the corners).
const maskAt = args.indexOf('--mask');
const maskMode = maskAt >= 0 ? args[maskAt + 1]! : 'disc:0.3';
// Also refit the shipped novelty check around each head and score the non-fish set
// (scripts/fetch-nonfish.sh) per source: what the composites do to the open set.
const withOpenSet = args.includes('--open-set');
// Another draw of donors: how much of a result is the draw.
const seedAt = args.indexOf('--seed');
const seed = seedAt >= 0 ? Number(args[seedAt + 1]) : 42;

/** One view: the fish of train item `fg` on the background of item `donor` (mirrored or not). */
interface SwapPlan {
  fg: number;
  donor: number;
  mirror: boolean;
}

/**
 * Donors for every view of every item: a seeded draw among items of another class that
 * `eligible` allows (research keeps donors inside a cross-validation fold).
 */
function swapPlans(
  y: ArrayLike<number>,
  views: number,
  seed: number,
  eligible: (item: number, donor: number) => boolean = () => true,
): SwapPlan[][] {
  const n = y.length;
  return Array.from({ length: views }, (_, v) =>
    Array.from({ length: n }, (_, i) => {
      const r = rng(seed * 7_919 + v * 1_000_003 + i + 17);
      const pool: number[] = [];
      for (let j = 0; j < n; j++) if (y[j] !== y[i] && eligible(i, j)) pool.push(j);
      if (!pool.length) throw new Error('background swap needs images of at least two classes');
      return { fg: i, donor: pool[Math.floor(r() * pool.length)]!, mirror: r() < 0.5 };
    }),
  );
}

/** Side of the stretched image whose centre `spec.size` the preprocessing keeps. */
function stretchedSide(spec: PreprocessSpec): number {
  return Math.round(spec.size / (spec.crop ?? 1));
}

/** Weight 1 inside a centred disc of radius `radius` × side, feathered over 0.05 × side. */
function discMask(side: number, radius: number): Float32Array {
  const m = new Float32Array(side * side);
  const c = (side - 1) / 2;
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const d = Math.hypot(x - c, y - c) / side;
      m[y * side + x] = Math.min(1, Math.max(0, (radius - d) / 0.05 + 0.5));
    }
  return m;
}

/**
 * `fg` where `mask` is 1, `bg` (mirrored if asked) where it is 0, both `side` × `side` RGB;
 * returns the centre `size` × `size`, as the preprocessing's centre crop would keep it.
 */
function swapBackground(
  fg: Uint8Array,
  bg: Uint8Array,
  mask: Float32Array,
  side: number,
  size: number,
  mirrorBg: boolean,
): Uint8Array {
  const margin = Math.floor((side - size) / 2);
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const p = (y + margin) * side + x + margin;
      const q = (y + margin) * side + (mirrorBg ? side - 1 - (x + margin) : x + margin);
      const m = mask[p]!;
      for (let ch = 0; ch < 3; ch++)
        out[(y * size + x) * 3 + ch] = Math.round(m * fg[p * 3 + ch]! + (1 - m) * bg[q * 3 + ch]!);
    }
  return out;
}

const shipped = await shippedSpecies();
const { manifest, taps, spec, train, val, yOf } = shipped;
// The shipped pipeline stretches to `full` and keeps the centre `size`: the same pixels here.
const full = stretchedSide(spec);
const margin = Math.floor((full - spec.size) / 2);
const whole = { ...spec, size: full, crop: undefined };

/** Foreground weight in [0, 1] per pixel: colour distance from the border, inside an ellipse. */
function fishMask(rgb: Uint8Array): Float32Array {
  const band = Math.round(full * 0.06);
  const border: number[][] = [];
  for (let y = 0; y < full; y += 3)
    for (let x = 0; x < full; x += 3) {
      if (x >= band && x < full - band && y >= band && y < full - band) continue;
      const i = (y * full + x) * 3;
      // Black padding bars would make a dark fish look like background.
      if (Math.max(rgb[i]!, rgb[i + 1]!, rgb[i + 2]!) < 16) continue;
      border.push([rgb[i]!, rgb[i + 1]!, rgb[i + 2]!]);
    }
  const dist = new Float32Array(full * full);
  for (let p = 0; p < full * full; p++) {
    let best = Infinity;
    for (const b of border) {
      const d =
        (rgb[p * 3]! - b[0]!) ** 2 +
        (rgb[p * 3 + 1]! - b[1]!) ** 2 +
        (rgb[p * 3 + 2]! - b[2]!) ** 2;
      if (d < best) best = d;
    }
    dist[p] = border.length ? Math.sqrt(best) : 255;
  }
  // The cut: a share of the largest distance inside the central region, so a low-contrast crop
  // still gets the fish's core.
  let peak = 0;
  for (let y = full / 4; y < (3 * full) / 4; y++)
    for (let x = full / 4; x < (3 * full) / 4; x++)
      peak = Math.max(peak, dist[Math.floor(y) * full + Math.floor(x)]!);
  const lo = 0.2 * peak;
  const hi = 0.4 * peak;
  const raw = new Float32Array(full * full);
  const c = (full - 1) / 2;
  for (let y = 0; y < full; y++)
    for (let x = 0; x < full; x++) {
      const e = ((x - c) / (0.48 * full)) ** 2 + ((y - c) / (0.48 * full)) ** 2;
      const inside = Math.min(1, Math.max(0, (1 - e) / 0.2));
      const p = y * full + x;
      raw[p] = inside * Math.min(1, Math.max(0, (dist[p]! - lo) / Math.max(1, hi - lo)));
    }
  return boxBlur(raw, 3);
}

function boxBlur(m: Float32Array, r: number): Float32Array {
  const tmp = new Float32Array(m.length);
  const out = new Float32Array(m.length);
  for (let y = 0; y < full; y++)
    for (let x = 0; x < full; x++) {
      let s = 0;
      let n = 0;
      for (let k = Math.max(0, x - r); k <= Math.min(full - 1, x + r); k++, n++)
        s += m[y * full + k]!;
      tmp[y * full + x] = s / n;
    }
  for (let y = 0; y < full; y++)
    for (let x = 0; x < full; x++) {
      let s = 0;
      let n = 0;
      for (let k = Math.max(0, y - r); k <= Math.min(full - 1, y + r); k++, n++)
        s += tmp[k * full + x]!;
      out[y * full + x] = s / n;
    }
  return out;
}

function centre(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array(spec.size * spec.size * 3);
  for (let y = 0; y < spec.size; y++)
    out.set(
      rgb.subarray(
        ((y + margin) * full + margin) * 3,
        ((y + margin) * full + margin + spec.size) * 3,
      ),
      y * spec.size * 3,
    );
  return out;
}

const fold = train.items.map(
  (it) => parseInt(createHash('sha1').update(groupOf(it)).digest('hex').slice(0, 8), 16) % 5,
);
const y = yOf(train.items);
const t0 = performance.now();
const decoded = await Promise.all(
  train.items.map(async (it) => decodeRgb(await readFile(it.path), whole)),
);
const fixedMask = maskMode.startsWith('disc:') ? discMask(full, Number(maskMode.slice(5))) : null;
const masks = decoded.map((rgb) => fixedMask ?? fishMask(rgb));
console.log(JSON.stringify({ step: 'masks', seconds: (performance.now() - t0) / 1000 }));

// Donors of another class in the same fold, so a fold never sees a held-out clip's background.
const plans = swapPlans(y, views, seed, (i, j) => fold[i] === fold[j]);
const viewRgb = plans.map((plan) =>
  plan.map((p) =>
    swapBackground(decoded[p.fg]!, decoded[p.donor]!, masks[p.fg]!, full, spec.size, p.mirror),
  ),
);

if (preview) {
  // A strip per class: original centre, mask, and each swapped view.
  const tiles: OverlayOptions[] = [];
  const s = spec.size;
  const per = 2 + views;
  const picks = shipped.labels.map((l) => train.items.findIndex((it) => it.label === l));
  picks.forEach((i, row) => {
    const images = [
      centre(decoded[i]!),
      centre(
        Uint8Array.from({ length: full * full * 3 }, (_, k) =>
          Math.round(masks[i]![Math.floor(k / 3)]! * 255),
        ),
      ),
      ...viewRgb.map((vr) => vr[i]!),
    ];
    images.forEach((img, col) =>
      tiles.push({
        input: Buffer.from(img),
        raw: { width: s, height: s, channels: 3 },
        left: col * s,
        top: row * s,
      }),
    );
  });
  await sharp({
    create: { width: per * s, height: picks.length * s, channels: 3, background: '#000' },
  })
    .composite(tiles)
    .png()
    .toFile(preview);
  console.log(JSON.stringify({ preview }));
}

const embed = (session: BackboneSession, rgbs: readonly Uint8Array[], flip: boolean) =>
  embedPixels(session, taps, spec.size, rgbs, flip);

const pool = new BackbonePool(resolve('data/store'));
try {
  const session = await pool.get(manifest.backbone.id, taps, backboneInt8(manifest.backbone));
  const originals = decoded.map(centre);
  const trO = await embed(session, originals, false);
  const trF = await embed(session, originals, true);
  const valRgb = await Promise.all(
    val.items.map(async (it) => decodeRgb(await readFile(it.path), spec)),
  );
  const va = await embed(session, valRgb, false);
  const nonfishDir = resolve('data/nonfish');
  const nonfish: NonFishRow[] = [];
  if (withOpenSet) {
    const paths = await listImagesRecursive(nonfishDir);
    const rgbs = await Promise.all(paths.map(async (p) => decodeRgb(await readFile(p), spec)));
    const rows = await embed(session, rgbs, false);
    paths.forEach((p, i) =>
      nonfish.push({ source: dirname(relative(nonfishDir, p)), row: rows[i]! }),
    );
  }
  const yTwice = Int32Array.from([...y, ...y]);
  const openSet = async (extra: Float32Array[][]) =>
    withOpenSet
      ? {
          open_set: await noveltyRejection(
            shipped,
            {
              rows: [...trO, ...trF, ...extra.flat()],
              y: Int32Array.from([...yTwice, ...extra.flatMap(() => [...y])]),
            },
            { rows: [...trO, ...trF], y: yTwice },
            va,
            nonfish,
          ),
        }
      : {};
  const base = await valAndCv(shipped, { trainOriginal: trO, trainFlipped: trF, val: va });
  console.log(JSON.stringify({ training: 'originals + mirrors', ...base, ...(await openSet([])) }));
  const extraO: Float32Array[][] = [];
  const extraF: Float32Array[][] = [];
  for (let v = 0; v < views; v++) {
    extraO.push(await embed(session, viewRgb[v]!, false));
    extraF.push(await embed(session, viewRgb[v]!, true));
    const scores = await valAndCv(shipped, {
      trainOriginal: trO,
      trainFlipped: trF,
      val: va,
      extra: extraO.map((o, k) => ({ original: o, flipped: extraF[k]! })),
    });
    console.log(
      JSON.stringify({
        training: `+ ${v + 1} background-swapped view(s), each mirrored`,
        mask: maskMode,
        seed,
        ...scores,
        ...(await openSet(extraO.flatMap((o, k) => [o, extraF[k]!]))),
        seconds: (performance.now() - t0) / 1000,
      }),
    );
  }
} finally {
  await pool.close();
}
