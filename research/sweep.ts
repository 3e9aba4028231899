// Research step 3: one line per candidate (backbone/input size × taps × flip options), softmax
// head at a fixed λ so that candidates compare like for like. Writes results as JSON lines.
// Usage: node bin/run-ts.js research/sweep.ts <out.jsonl> [group]
import { appendFileSync } from 'node:fs';
import { parseBackboneId } from '../src/ml/backbone/specs.ts';
import { trainSoftmax } from '../src/ml/train/softmax-regression.ts';
import { classWeights, loadSplit, prepare, score } from './lib.ts';
import type { Split } from './lib.ts';

const out = process.argv[2];
const group = process.argv[3] ?? 'sizes';
const L2 = 0.01;
type Cfg = { id: string; taps: string[]; flipTrain: boolean };
const T2 = ['b13_expand', 'b16_out'];
const groups: Record<string, Cfg[]> = {
  sizes: [
    'mnv2-140-224',
    'mnv2-140-160',
    'mnv2-140-128',
    'mnv2-100-224',
    'mnv2-100-160',
    'mnv2-100-128',
  ].map((id) => ({ id, taps: T2, flipTrain: true })),
  taps140: [
    ['embedding'],
    ['b13_expand'],
    ['b16_out'],
    ['b14_expand', 'b16_out'],
    ['b12_expand', 'b16_out'],
    ['b13_expand', 'b14_expand', 'b16_out'],
    ['b12_expand', 'b13_expand', 'b16_out'],
    ['b13_expand', 'b15_expand', 'b16_out'],
    ['b13_expand', 'b16_out', 'embedding'],
    ['b11_expand', 'b13_expand', 'b16_out'],
  ].map((taps) => ({ id: process.env.SWEEP_ID ?? 'mnv2-140-160', taps, flipTrain: true })),
  flip: [{ id: process.env.SWEEP_ID ?? 'mnv2-140-160', taps: T2, flipTrain: false }],
  taps100: [
    ['embedding'],
    ['b13_expand', 'b16_out'],
    ['b12_expand', 'b13_expand', 'b16_out'],
    ['b10_out', 'b12_expand', 'b13_expand', 'b14_expand', 'b16_out', 'embedding'],
  ].map((taps) => ({ id: process.env.SWEEP_ID ?? 'mnv2-100-224', taps, flipTrain: true })),
};
const cache = new Map<string, [Split, Split]>();
for (const c of groups[group]) {
  if (!cache.has(c.id))
    cache.set(c.id, [await loadSplit(c.id, 'train'), await loadSplit(c.id, 'val')]);
  const [tr, va] = cache.get(c.id)!;
  const p = prepare(parseBackboneId(c.id).width, tr, va, c.taps, c.flipTrain);
  const t0 = performance.now();
  const head = trainSoftmax(p.X, p.y, tr.labels.length, {
    l2: L2,
    classWeights: classWeights(p.y, tr.labels.length),
  });
  const secs = (performance.now() - t0) / 1000;
  const plain = score(head, p.vO, undefined, va.y, tr.labels);
  const tta = score(head, p.vO, p.vF, va.y, tr.labels);
  const row = { ...c, dim: p.dim, l2: L2, plain, tta, trainSeconds: secs };
  appendFileSync(out, `${JSON.stringify(row)}\n`);
  console.log(
    `${c.id} ${c.taps.join('+')} flipTrain=${c.flipTrain} d=${p.dim}: acc ${plain.acc.toFixed(3)} f1 ${plain.f1.toFixed(3)} | tta acc ${tta.acc.toFixed(3)} f1 ${tta.f1.toFixed(3)}`,
  );
}
