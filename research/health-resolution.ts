// Issue 14, health: does a larger input help web photos whose lesions are small? The product's
// `trainModel` with the health defaults (taps, flip-TTA, λ grid on val), only the backbone's input
// size changed. Models go to a temp dir, never committed (the data's licence is unclear).
// Usage: node bin/run-ts.js research/health-resolution.ts [sizes...]   (docs/model-research.md §21)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { trainModel } from '../src/ml/train/train-model.ts';

const data = resolve(process.env.AQUAML_DATASETS_DIR ?? '../shared/data', 'fish-health');
const sizes = process.argv.slice(2).map(Number);
for (const size of sizes.length ? sizes : [224, 288, 320]) {
  const out = await mkdtemp(join(tmpdir(), 'aquaml-health-res-'));
  try {
    const r = await trainModel({
      task: 'health',
      dataDir: join(data, 'train'),
      valDir: join(data, 'val'),
      name: 'health',
      version: 1,
      backbone: `mnv2-140-${size}`,
      outDir: join(out, 'health'),
      cacheDir: resolve('data/embed-cache'),
      storeDir: resolve('data/store'),
    });
    const v = r.manifest.metrics.val;
    console.log(
      JSON.stringify({
        size,
        val_top1: v.accuracy,
        val_macro_f1: v.macro_f1,
        val_ece: v.ece,
        head: r.manifest.head.kind,
        embedding_s: Math.round(r.embeddingSeconds),
        training_s: Math.round(r.trainingSeconds),
      }),
    );
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
