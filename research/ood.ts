// Research step 4: open-set scores on features. Fish val vs the non-fish set (scripts/fetch-nonfish.sh):
// AUROC and the share of non-fish flagged when the threshold lets `q` of fish val through as unknown.
// Usage: node bin/run-ts.js research/ood.ts <backbone id> <taps,comma>
import { resolve } from 'node:path';
import { BackbonePool } from '../src/ml/backbone/session.ts';
import { parseBackboneId } from '../src/ml/backbone/specs.ts';
import { sha256File } from '../src/ml/data/dataset.ts';
import { embedItems } from '../src/ml/embed/embedder.ts';
import { listImagesRecursive } from '../src/ml/evaluate/evaluate-model.ts';
import { auroc } from '../src/ml/evaluate/metrics.ts';
import { fitPrototypes, l2normalize, oodScore, quantile } from '../src/ml/openset.ts';
import { DEFAULT_PREPROCESS } from '../src/ml/preprocess.ts';
import { fitStandardizer, standardize } from '../src/ml/head/standardize.ts';
import { RESEARCH_TAPS, loadSplit, sliceTaps } from './lib.ts';

const [id, tapsArg] = process.argv.slice(2);
const taps = tapsArg.split(',');
const bs = parseBackboneId(id);
const pool = new BackbonePool(resolve('data/store'));
const paths = await listImagesRecursive(resolve('data/nonfish'));
const items = await Promise.all(
  paths.map(async (path) => ({ path, label: '', sha256: await sha256File(path) })),
);
const e = await embedItems(items, {
  session: await pool.get(id),
  spec: { ...DEFAULT_PREPROCESS, kernel: 'lanczos3', size: bs.inputSize },
  taps: RESEARCH_TAPS,
  flip: false,
  cacheDir: resolve('data/research-cache'),
});
await pool.close();
const tr = await loadSplit(id, 'train');
const va = await loadSplit(id, 'val');
const trRows = sliceTaps(bs.width, [...tr.orig, ...tr.flip], taps);
const y = Int32Array.from([...tr.y, ...tr.y]);
const vaRows = sliceTaps(bs.width, va.orig, taps);
const nfRows = sliceTaps(bs.width, e.original, taps);
const st = fitStandardizer(trRows);
const spaces: Record<string, (r: Float32Array) => Float32Array> = {
  standardized: (r) => standardize(st, r),
  raw: (r) => r,
};
for (const [space, f] of Object.entries(spaces)) {
  const T = trRows.map(f);
  const V = vaRows.map(f);
  const N = nfRows.map(f);
  const methods: Record<string, (z: Float32Array) => number> = {};
  for (const per of [16, 64]) {
    const p = fitPrototypes(T, y, 10, per, 42);
    methods[`prototypes-${per}/class`] = (z) => oodScore(p, z);
  }
  const all = { dim: T[0].length, vectors: new Float32Array(T.length * T[0].length), classes: y };
  T.forEach((r, i) => all.vectors.set(l2normalize(r), i * r.length));
  methods['all-train (1-NN)'] = (z) => oodScore(all, z);
  for (const [name, m] of Object.entries(methods)) {
    const sv = V.map(m);
    const sn = N.map(m);
    const at = (q: number): string => {
      const th = quantile(sv, q);
      return `${((sn.filter((s) => s < th).length / sn.length) * 100).toFixed(1)}%`;
    };
    console.log(
      `${id} ${taps.join('+')} ${space} ${name}: AUROC ${auroc(sv, sn).toFixed(4)} | non-fish flagged at fish q=3%: ${at(0.03)}, 5%: ${at(0.05)}, 7%: ${at(0.07)}`,
    );
  }
}
