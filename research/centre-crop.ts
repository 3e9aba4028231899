// Issues 14 and 16: how much of each side of a crop to keep around its centre
// (`preprocessing.crop`), chosen on val and on grouped 5-fold cross-validation of train (clips as
// groups, folds by a hash of the clip), with the shipped recipe (int8 graph, taps, softmax head
// λ 0.01, originals + mirrors); and what the crop costs when decoding.
// Usage: node bin/run-ts.js research/centre-crop.ts   (docs/model-research.md §17)
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { backboneInt8 } from '../src/ml/artifact/manifest.ts';
import { BackbonePool } from '../src/ml/backbone/session.ts';
import { decodeRgb } from '../src/ml/preprocess.ts';
import { shippedSpecies } from './shipped.ts';
import { embedAndScore } from './val-and-cv.ts';

const shipped = await shippedSpecies();
const { manifest, taps, spec, val } = shipped;
const whole = { ...spec, crop: undefined };

// 1. Decoding cost, whole against cropped, alternating rounds over 200 val images.
const sample = await Promise.all(val.items.slice(0, 200).map((it) => readFile(it.path)));
for (let round = 0; round < 3; round++)
  for (const crop of [undefined, 0.7]) {
    const spec = { ...whole, crop };
    for (const b of sample.slice(0, 20)) await decodeRgb(b, spec);
    const t = performance.now();
    for (const b of sample) await decodeRgb(b, spec);
    const ms = (performance.now() - t) / sample.length;
    console.log(JSON.stringify({ decode: crop ?? 1, round, ms_per_image: +ms.toFixed(3) }));
  }

// 2. Val and grouped CV for each share kept.
const pool = new BackbonePool(resolve('data/store'));
try {
  const session = await pool.get(manifest.backbone.id, taps, backboneInt8(manifest.backbone));
  for (const crop of [1, 0.8, 0.7, 0.6]) {
    const spec = { ...whole, crop: crop < 1 ? crop : undefined };
    const scores = await embedAndScore(shipped, session, spec);
    console.log(JSON.stringify({ crop, ...scores }));
  }
} finally {
  await pool.close();
}
