// Research step 1 (caches made with lanczos3 resampling, pinned here since bilinear became the
// global default): embed fish-species train+val (and mirrored copies) with every candidate
// backbone / input size, caching all late taps, and measure raw ORT throughput per graph.
// Usage: node bin/run-ts.js research/embed.ts [ids...]
import { join, resolve } from 'node:path';
import { BackbonePool } from '../src/ml/backbone/session.ts';
import { listImageFolder } from '../src/ml/data/dataset.ts';
import { embedItems } from '../src/ml/embed/embedder.ts';
import { DEFAULT_PREPROCESS } from '../src/ml/preprocess.ts';

export const RESEARCH_TAPS = [
  'b10_out',
  'b11_expand',
  'b11_out',
  'b12_expand',
  'b12_out',
  'b13_expand',
  'b13_out',
  'b14_expand',
  'b14_out',
  'b15_expand',
  'b15_out',
  'b16_expand',
  'b16_out',
  'embedding',
];

const data = resolve(process.env.AQUAML_DATASETS_DIR ?? '../shared/data', 'fish-species');
const ids = process.argv.slice(2).length
  ? process.argv.slice(2)
  : [
      'mnv2-140-224',
      'mnv2-140-160',
      'mnv2-140-128',
      'mnv2-100-224',
      'mnv2-100-160',
      'mnv2-100-128',
    ];
const pool = new BackbonePool(resolve('data/store'));
for (const id of ids) {
  const session = await pool.get(id);
  const size = session.inputSize;
  const spec = { ...DEFAULT_PREPROCESS, kernel: 'lanczos3' as const, size };
  for (const split of ['train', 'val']) {
    const { items } = await listImageFolder(join(data, split));
    const t0 = performance.now();
    const e = await embedItems(items, {
      session,
      spec,
      taps: RESEARCH_TAPS,
      flip: true,
      cacheDir: resolve('data/research-cache'),
    });
    console.log(
      `${id} ${split}: ${items.length} images (x2 flip) in ${((performance.now() - t0) / 1000).toFixed(1)} s, computed ${e.computed}, dim ${e.dim}`,
    );
  }
}
await pool.close();
