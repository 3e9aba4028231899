// Issue 14, lever 5: a higher input size with the shipped recipe (taps, centre crop, softmax head
// λ from the manifest, originals + mirrors), scored on val and grouped 5-fold cross-validation of
// train, on the fp32 graph at every size (int8 ranges are calibrated per size; the shipped 128 is
// also scored in fp32, so the sizes compare like for like); with the backbone's cost per image at
// batch 8 on one onnxruntime thread.
// Usage: node bin/run-ts.js research/resolution.ts   (docs/model-research.md §24)
import { resolve } from 'node:path';
import { BackbonePool } from '../src/ml/backbone/session.ts';
import { shippedSpecies } from './shipped.ts';
import { embedAndScore } from './val-and-cv.ts';

const shipped = await shippedSpecies();
const { taps, spec } = shipped;
const pool = new BackbonePool(resolve('data/store'), { intraOpThreads: 1 });
try {
  for (const size of [128, 160, 192]) {
    const id = `mnv2-140-${size}-b16`;
    const session = await pool.get(id, taps);
    const input = new Float32Array(8 * size * size * 3).fill(0.5);
    for (let i = 0; i < 5; i++) await session.run(input, 8, taps);
    const t = performance.now();
    for (let i = 0; i < 40; i++) await session.run(input, 8, taps);
    const msPerImage = (performance.now() - t) / 320;
    const scores = await embedAndScore(shipped, session, { ...spec, size });
    console.log(JSON.stringify({ size, backbone_ms_per_image: +msPerImage.toFixed(2), ...scores }));
  }
} finally {
  await pool.close();
}
