// Produces the shipped species model (models/species/1) with the same `trainModel` the CLI uses.
// Usage: node bin/run-ts.js scripts/train-species.ts [outDir] [--backbone id] [--taps a,b] [--flip-tta]
//   [--precision int8|fp32]
// Needs ../shared/data/fish-species (or AQUAML_DATASETS_DIR) and, for open-set figures,
// scripts/fetch-nonfish.sh (data/nonfish).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { trainModel } from '../src/ml/train/train-model.ts';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const backbone = opt('--backbone');
const taps = opt('--taps')?.split(',');
const precision = opt('--precision');
if (precision !== undefined && precision !== 'int8' && precision !== 'fp32')
  throw new Error('--precision must be int8 or fp32');
const version = Number(opt('--version') ?? '1');
const flipTta = args.includes('--flip-tta')
  ? args.splice(args.indexOf('--flip-tta'), 1) && true
  : undefined;
const data = resolve(process.env.AQUAML_DATASETS_DIR ?? '../shared/data', 'fish-species');
const nonfish = resolve('data/nonfish');
let last = 0;
const r = await trainModel({
  task: 'species',
  dataDir: resolve(data, 'train'),
  valDir: resolve(data, 'val'),
  name: 'species',
  version,
  backbone,
  taps,
  flipTta,
  precision,
  outDir: resolve(args[0] ?? 'models/species/1'),
  cacheDir: resolve('data/embed-cache'),
  storeDir: resolve('data/store'),
  oodDir: existsSync(resolve(nonfish, '.complete')) ? nonfish : undefined,
  createdAt: process.env.AQUAML_CREATED_AT,
  onProgress: (p) => {
    if (p.phase === 'embed' && p.done !== p.total && performance.now() - last < 2000) return;
    last = performance.now();
    console.error(
      `[${p.phase}] ${p.done !== undefined ? `${p.done}/${p.total}` : ''} ${p.message ?? ''}`,
    );
  },
});
const m = r.manifest;
console.log(
  JSON.stringify(
    {
      outDir: r.outDir,
      backbone: m.backbone,
      head: m.head,
      val: m.metrics.val,
      ood: m.metrics.ood,
      temperature: m.calibration.temperature,
      open_set: m.open_set,
      confidence_threshold: m.confidence_threshold,
      embedding_seconds: r.embeddingSeconds,
      training_seconds: r.trainingSeconds,
    },
    null,
    1,
  ),
);
