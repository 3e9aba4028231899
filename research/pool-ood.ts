// Pooling research, open set: fish val vs the non-fish set for a pooled feature set, with the
// prototypes (16 spherical k-means centroids per class, as trainModel) fitted in each candidate
// open-set space: the features as fetched (`raw-l2`) or grid taps reduced to their cell mean
// (`raw-l2-grid-mean`, src/ml/openset.ts). AUROC and the share of non-fish flagged when the
// threshold marks q of fish val as unknown. Appends JSON lines to <out.jsonl>.
// Usage: node bin/run-ts.js research/pool-ood.ts <out.jsonl> <taps@size> ...
import { appendFileSync } from 'node:fs';
import { auroc } from '../src/ml/evaluate/metrics.ts';
import { fitPrototypes, oodScore, openSetFeatures, quantile } from '../src/ml/openset.ts';
import type { OpenSetSpace } from '../src/ml/openset.ts';
import { loadNonfishTaps, loadTaps } from './pool-lib.ts';

const [out, ...cands] = process.argv.slice(2);
for (const cand of cands) {
  const [tapStr, size] = cand.split('@');
  const taps = tapStr.split('+');
  const id = `mnv2-140-${size}-b16`;
  const tr = await loadTaps(id, 'fish-species', 'train', taps);
  const va = await loadTaps(id, 'fish-species', 'val', taps);
  const nf = await loadNonfishTaps(id, taps);
  const rows = [...tr.orig, ...tr.flip];
  const y = Int32Array.from([...tr.y, ...tr.y]);
  for (const space of ['raw-l2', 'raw-l2-grid-mean'] as OpenSetSpace[]) {
    const f = (r: Float32Array): Float32Array => openSetFeatures(r, taps, 140, space);
    const p = fitPrototypes(rows.map(f), y, tr.labels.length, 16, 42);
    const sv = va.orig.map((r) => oodScore(p, f(r)));
    const sn = nf.map((r) => oodScore(p, f(r)));
    const flagged = (q: number): number => {
      const th = quantile(sv, q);
      return sn.filter((s) => s < th).length / sn.length;
    };
    const row = {
      candidate: cand,
      space,
      dim: p.dim,
      prototypes: p.classes.length,
      prototype_kb: Math.round((p.vectors.length * 2) / 1024),
      auroc: auroc(sv, sn),
      nonfish_flagged: { q3: flagged(0.03), q5: flagged(0.05), q7: flagged(0.07) },
    };
    if (out !== '-') appendFileSync(out, `${JSON.stringify(row)}\n`);
    console.log(
      `${cand} ${space} d=${row.dim} (${row.prototype_kb} KB): AUROC ${row.auroc.toFixed(4)} | non-fish flagged at fish q=3%: ${(row.nonfish_flagged.q3 * 100).toFixed(1)}%, 5%: ${(row.nonfish_flagged.q5 * 100).toFixed(1)}%, 7%: ${(row.nonfish_flagged.q7 * 100).toFixed(1)}%`,
    );
  }
}
