// Issue 14, health: pooling and taps. Lesions are small and anywhere in a web photo, so pooling
// that keeps a strong local response (max, GeM) or a coarse layout (grid) might read them better
// than the default global average. The product's `trainModel` with the health defaults (224,
// flip-TTA, λ grid on val), only the taps changed; models go to a temp dir, never committed.
// Usage: node bin/run-ts.js research/health-taps.ts [variant...]   (docs/model-research.md §21)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULTS } from '../src/ml/train/defaults.ts';
import { trainModel } from '../src/ml/train/train-model.ts';

const data = resolve(process.env.AQUAML_DATASETS_DIR ?? '../shared/data', 'fish-health');
const base = DEFAULTS.health.taps;
const pooled = (suffix: string) =>
  base.map((t) => (t === 'embedding' || t === 'b16_out' ? t : `${t}:${suffix}`));
const VARIANTS: Record<string, string[]> = {
  default: base,
  max: pooled('max'),
  gem3: pooled('gem3'),
  q2: pooled('q2'),
  'late-q3': [...base.filter((t) => !/^b1[34]_expand$/.test(t)), 'b13_expand:q3', 'b14_expand:q3'],
};
const names = process.argv.slice(2);
for (const name of names.length ? names : Object.keys(VARIANTS)) {
  const taps = VARIANTS[name];
  if (!taps) throw new Error(`unknown variant ${name}: ${Object.keys(VARIANTS).join(', ')}`);
  const out = await mkdtemp(join(tmpdir(), 'aquaml-health-taps-'));
  try {
    const r = await trainModel({
      task: 'health',
      dataDir: join(data, 'train'),
      valDir: join(data, 'val'),
      name: 'health',
      version: 1,
      taps,
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
