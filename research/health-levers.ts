// Issue 14, health: input size, pooling and taps, one at a time. Lesions are small and anywhere in
// a web photo, so a larger input, pooling that keeps a strong local response (max, GeM) or a coarse
// layout (grid) might read them better than the default 224 and global average. The product's
// `trainModel` with the health defaults (taps, flip-TTA, λ grid on val), one thing changed; models
// go to a temp dir, never committed (the data's licence is unclear).
// Usage: node bin/run-ts.js research/health-levers.ts [variant...]   (docs/model-research.md §21)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULTS } from '../src/ml/train/defaults.ts';
import { trainModel } from '../src/ml/train/train-model.ts';

const data = resolve(process.env.AQUAML_DATASETS_DIR ?? '../shared/data', 'fish-health');
const base = DEFAULTS.health.taps;
const pooled = (suffix: string) =>
  base.map((t) => (t === 'embedding' || t === 'b16_out' ? t : `${t}:${suffix}`));
const VARIANTS: Record<string, { taps?: string[]; size?: number }> = {
  default: {},
  ...Object.fromEntries([160, 192, 288, 320].map((size) => [`size-${size}`, { size }])),
  max: { taps: pooled('max') },
  gem3: { taps: pooled('gem3') },
  q2: { taps: pooled('q2') },
  'late-q3': {
    taps: [...base.filter((t) => !/^b1[34]_expand$/.test(t)), 'b13_expand:q3', 'b14_expand:q3'],
  },
};
const names = process.argv.slice(2);
for (const name of names.length ? names : Object.keys(VARIANTS)) {
  const variant = VARIANTS[name];
  if (!variant) throw new Error(`unknown variant ${name}: ${Object.keys(VARIANTS).join(', ')}`);
  const out = await mkdtemp(join(tmpdir(), 'aquaml-health-levers-'));
  try {
    const r = await trainModel({
      task: 'health',
      dataDir: join(data, 'train'),
      valDir: join(data, 'val'),
      name: 'health',
      version: 1,
      taps: variant.taps,
      backbone: variant.size ? `mnv2-140-${variant.size}` : undefined,
      outDir: join(out, 'health'),
      cacheDir: resolve('data/embed-cache'),
      storeDir: resolve('data/store'),
    });
    const v = r.manifest.metrics.val;
    console.log(
      JSON.stringify({
        variant: name,
        val_top1: v.accuracy,
        val_macro_f1: v.macro_f1,
        val_ece: v.ece,
        embedding_s: Math.round(r.embeddingSeconds),
        training_s: Math.round(r.trainingSeconds),
      }),
    );
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
