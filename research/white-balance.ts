// Issue 14: removing each image's colour cast before the backbone, on val and on grouped 5-fold
// cross-validation of train (clips as groups, folds by a hash of the clip), with the shipped recipe
// (int8 graph, taps, centre crop, softmax head, originals + mirrors). Training clips of
// acanthurus-nigrofuscus swim in green water, its val clips over coral and sand: the lever aimed at
// that shift. `border` scales each channel so the pixels the centre crop leaves out (mostly water)
// average grey; `gray-world` so the whole image does. Not shipped: the balancing lives here only.
// Usage: node bin/run-ts.js research/white-balance.ts   (docs/model-research.md §19)
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { backboneInt8 } from '../src/ml/artifact/manifest.ts';
import { BackbonePool, type BackboneSession } from '../src/ml/backbone/session.ts';
import type { ImageItem } from '../src/ml/data/dataset.ts';
import { decodeRgb } from '../src/ml/preprocess.ts';
import { shippedSpecies } from './shipped.ts';
import { embedPixels, valAndCv } from './val-and-cv.ts';

type Mode = 'none' | 'border' | 'gray-world';
const shipped = await shippedSpecies();
const { manifest, taps, spec, train, val } = shipped;
const crop = spec.crop ?? 1;
// The shipped pipeline stretches to `full` and keeps the centre `size`: the same pixels here.
const full = Math.round(spec.size / crop);
const margin = Math.floor((full - spec.size) / 2);

function balancedCentre(rgb: Uint8Array, mode: Mode): Uint8Array {
  const sum = [0, 0, 0];
  let n = 0;
  const band = Math.max(margin, Math.round(full / 8));
  for (let y = 0; y < full; y++)
    for (let x = 0; x < full; x++) {
      const inner = x >= band && x < full - band && y >= band && y < full - band;
      if (mode === 'border' && inner) continue;
      const i = (y * full + x) * 3;
      for (let c = 0; c < 3; c++) sum[c] += rgb[i + c]!;
      n++;
    }
  const grey = (sum[0]! + sum[1]! + sum[2]!) / 3;
  const gain = sum.map((c) =>
    mode === 'none' ? 1 : Math.min(2, Math.max(0.5, (grey + n) / (c + n))),
  );
  const out = new Uint8Array(spec.size * spec.size * 3);
  for (let y = 0; y < spec.size; y++)
    for (let x = 0; x < spec.size; x++) {
      const s = ((y + margin) * full + x + margin) * 3;
      const d = (y * spec.size + x) * 3;
      for (let c = 0; c < 3; c++) out[d + c] = Math.min(255, Math.round(rgb[s + c]! * gain[c]!));
    }
  return out;
}

async function embed(
  session: BackboneSession,
  items: readonly ImageItem[],
  mode: Mode,
  flip: boolean,
) {
  const whole = { ...spec, size: full, crop: undefined };
  const rgbs = await Promise.all(
    items.map(async (it) => balancedCentre(await decodeRgb(await readFile(it.path), whole), mode)),
  );
  return embedPixels(session, taps, spec.size, rgbs, flip);
}

const pool = new BackbonePool(resolve('data/store'));
try {
  const session = await pool.get(manifest.backbone.id, taps, backboneInt8(manifest.backbone));
  for (const mode of ['none', 'border', 'gray-world'] as const) {
    const trO = await embed(session, train.items, mode, false);
    const trF = await embed(session, train.items, mode, true);
    const va = await embed(session, val.items, mode, false);
    const scores = await valAndCv(shipped, { trainOriginal: trO, trainFlipped: trF, val: va });
    console.log(JSON.stringify({ whiteBalance: mode, ...scores }));
  }
} finally {
  await pool.close();
}
