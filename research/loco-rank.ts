// Issue 16: the principal-subspace residual (subspace.ts, the code training runs) at several
// ranks, on the leave-one-class-out folds of research/loco-levers.ts (its cached fold heads and
// features). Adds `residual r<rank>` scores of val, mirrored val, non-fish and mirrored non-fish
// to tmp/levers/scores/fold-*.json, so research/loco-levers.ts tabulates them.
// Usage: node bin/run-ts.js research/loco-rank.ts <rank,rank...> [fold,fold...]
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MatMulABt } from '../src/ml/gemm.ts';
import { noveltyFeatures } from '../src/ml/novelty.ts';
import { fitPrincipalSubspace, residualScores } from '../src/ml/subspace.ts';
import { DIR, foldRows, loadData } from './loco-levers-data.ts';

const ranks = (process.argv[2] ?? '1024').split(',').map(Number);
const d = await loadData();
const folds = process.argv[3]
  ? process.argv[3].split(',').map(Number)
  : [...Array(d.labels.length + 1).keys()];
const mm = await MatMulABt.create();
const sets = { val: d.valRaw, valF: d.valFlipRaw, nf: d.nfRaw, nfF: d.nfFlipRaw };
const nov = Object.fromEntries(
  Object.entries(sets).map(([k, rows]) => [k, rows.map((r) => noveltyFeatures(d.os(r)))]),
);
const trainNov = d.trainRaw.map((r) => noveltyFeatures(d.os(r)));
for (const fold of folds) {
  const { idx } = foldRows(d, fold);
  for (const rank of ranks) {
    const t0 = performance.now();
    const s = await fitPrincipalSubspace(
      idx.map((i) => trainNov[i]),
      rank,
      mm,
    );
    const res: Record<string, number[]> = {};
    for (const [k, rows] of Object.entries(nov)) res[k] = await residualScores(s, rows, mm);
    // Read-modify-write right away: other processes may fill other scores of the same fold.
    const path = join(DIR, 'scores', `fold-${fold}.json`);
    const all = JSON.parse(await readFile(path, 'utf8'));
    all[`residual r${rank}`] = res;
    await writeFile(path, JSON.stringify(all));
    console.error(`fold ${fold} rank ${rank}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
}
await mm.release();
