// Pooling research, step 1: embed fish-species train+val (+ mirrored copies) and the non-fish set
// at each input size, pooling the raw maps of b12_expand / b13_expand / b16_out every way the graph
// can (see pool-lib.ts), into data/research-pool-cache.
// Usage: node bin/run-ts.js research/pool-embed.ts [sizes...] [--dataset fish-species] [--no-nonfish] [--extra]
// `--extra`: a second cache with EXTRA_TAPS (3x3 grids, blocks 11/14/16 expansions);
// `--grid`: GRID_TAPS (4x4 and 5x5 grids); `--health`: HEALTH_TAPS (use with --dataset fish-health --no-nonfish 224).
import { resolve } from 'node:path';
import { BackbonePool } from '../src/ml/backbone/session.ts';
import {
  EXTRA_TAPS,
  GRID_TAPS,
  HEALTH_TAPS,
  POOL_TAPS,
  loadPooled,
  loadPooledNonfish,
  poolingSession,
  rawBases,
} from './pool-lib.ts';

const args = process.argv.slice(2);
const di = args.indexOf('--dataset');
const dataset = di >= 0 ? args.splice(di, 2)[1] : 'fish-species';
const noNonfish = args.includes('--no-nonfish');
const layout = args.includes('--extra')
  ? EXTRA_TAPS
  : args.includes('--grid')
    ? GRID_TAPS
    : args.includes('--health')
      ? HEALTH_TAPS
      : POOL_TAPS;
const sizes = args.filter((a) => !a.startsWith('--')).map(Number);
const pool = new BackbonePool(resolve('data/store'));
for (const size of sizes.length ? sizes : [160, 128, 224]) {
  const id = layout.some((t) => t.startsWith('embedding'))
    ? `mnv2-140-${size}`
    : `mnv2-140-${size}-b16`;
  const real = await pool.get(
    id,
    rawBases(layout).map((b) => `${b}:raw`),
  );
  const session = poolingSession(real, layout);
  for (const split of ['train', 'val'] as const) {
    const t0 = performance.now();
    const s = await loadPooled(id, dataset, split, session, layout);
    console.log(
      `${id} ${dataset}/${split}: ${s.items.length} images (x2 flip), dim ${s.orig[0].length}, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  if (!noNonfish && dataset === 'fish-species') {
    const t0 = performance.now();
    const nf = await loadPooledNonfish(id, session, layout);
    console.log(
      `${id} nonfish: ${nf.length} images, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
}
await pool.close();
