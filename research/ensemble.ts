// Issue 14, lever 5: the 1.0 and 1.4 backbones together. The shipped recipe (taps, centre crop,
// softmax head, λ from the manifest, originals + mirrors) on each backbone alone, on both
// backbones' features side by side (one head), and with one head per backbone and their
// probabilities averaged; scored on val and grouped 5-fold cross-validation
// of train; fp32 graphs for both (the 1.0 has no int8 ranges), with each backbone's cost per
// image at batch 8 on one onnxruntime thread.
// Usage: node bin/run-ts.js research/ensemble.ts   (docs/model-research.md §26)
import { resolve } from 'node:path';
import { BackbonePool, type BackboneSession } from '../src/ml/backbone/session.ts';
import { embedItems } from '../src/ml/embed/embedder.ts';
import { shippedSpecies } from './shipped.ts';
import { type LeverFeatures, valAndCv } from './val-and-cv.ts';

const shipped = await shippedSpecies();
const { taps, spec, train, val } = shipped;
const pool = new BackbonePool(resolve('data/store'), { intraOpThreads: 1 });

async function msPerImage(session: BackboneSession): Promise<number> {
  const input = new Float32Array(8 * spec.size * spec.size * 3).fill(0.5);
  for (let i = 0; i < 5; i++) await session.run(input, 8, taps);
  const t = performance.now();
  for (let i = 0; i < 40; i++) await session.run(input, 8, taps);
  return +((performance.now() - t) / 320).toFixed(2);
}

async function features(session: BackboneSession): Promise<LeverFeatures> {
  const common = { session, spec, taps, flip: true, cacheDir: resolve('data/embed-cache') };
  const tr = await embedItems(train.items, common);
  const va = (await embedItems(val.items, { ...common, flip: false })).original;
  return { trainOriginal: tr.original, trainFlipped: tr.flipped!, val: va };
}

const side = (a: Float32Array[], b: Float32Array[]): Float32Array[] =>
  a.map((x, i) => {
    const out = new Float32Array(x.length + b[i]!.length);
    out.set(x);
    out.set(b[i]!, x.length);
    return out;
  });

try {
  const byWidth: Record<string, LeverFeatures> = {};
  for (const width of ['140', '100']) {
    const session = await pool.get(`mnv2-${width}-${spec.size}-b16`, taps);
    const ms = await msPerImage(session);
    byWidth[width] = await features(session);
    const scores = await valAndCv(shipped, byWidth[width]!);
    console.log(
      JSON.stringify({ backbones: width, dim: byWidth[width]!.val[0]!.length, ms, ...scores }),
    );
  }
  const [a, b] = [byWidth['140']!, byWidth['100']!];
  const both: LeverFeatures = {
    trainOriginal: side(a.trainOriginal, b.trainOriginal),
    trainFlipped: side(a.trainFlipped, b.trainFlipped),
    val: side(a.val, b.val),
  };
  console.log(
    JSON.stringify({
      backbones: '140+100',
      dim: both.val[0]!.length,
      ...(await valAndCv(shipped, both)),
    }),
  );
  console.log(
    JSON.stringify({
      backbones: '140, 100: probabilities averaged',
      ...(await valAndCv(shipped, [a, b])),
    }),
  );
} finally {
  await pool.close();
}
