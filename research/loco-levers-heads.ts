// Fills tmp/levers/heads for research/loco-levers.ts: one head per fold for a variant.
// Usage: node bin/run-ts.js research/loco-levers-heads.ts <variant> [fold,fold...]
//   base         the shipped recipe (standardise, softmax regression)
//   l2norm       standardised rows L2-normalised and scaled to sqrt(dim) (feature normalisation)
//   boot<s>      the shipped recipe on a seeded half of the training clips (ensemble member s)
import { foldHead, loadData } from './loco-levers-data.ts';
import { rng } from '../src/ml/rng.ts';

const [variant = 'base', folds] = process.argv.slice(2);
const d = await loadData();
console.error(
  `data: train ${d.trainRaw.length}, val ${d.valRaw.length}, non-fish ${d.nfRaw.length}`,
);
const list = folds ? folds.split(',').map(Number) : [...Array(d.labels.length + 1).keys()];
const dim = d.trainRaw[0].length;
let opts = {};
if (variant === 'l2norm')
  opts = {
    rowTransform: (x: Float32Array) => {
      let s = 0;
      for (const v of x) s += v * v;
      const f = Math.sqrt(dim / s);
      return x.map((v) => v * f);
    },
  };
else if (variant.startsWith('boot')) {
  const r = rng(1000 + Number(variant.slice(4)));
  const clips = [...new Set(d.trainGroup)].sort();
  const keep = new Set(clips.filter(() => r() < 0.5));
  opts = { subset: (i: number) => keep.has(d.trainGroup[i]) };
}
for (const f of list) {
  const t0 = performance.now();
  await foldHead(d, f, variant, opts);
  console.error(`${variant} fold ${f}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
