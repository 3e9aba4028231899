// Research step 2: which taps / input size / backbone / flip options / head buy accuracy.
// Usage: node bin/run-ts.js research/heads.ts <backbone id> <taps,comma> [l2,...] [--no-flip-train] [--mlp]
import { parseBackboneId } from '../src/ml/backbone/specs.ts';
import { trainSoftmax } from '../src/ml/train/softmax-regression.ts';
import { trainMlp } from '../src/ml/train/mlp.ts';
import { classWeights, loadSplit, prepare, score } from './lib.ts';

const [id, tapsArg, l2Arg] = process.argv.slice(2);
const flags = new Set(process.argv.slice(2).filter((a) => a.startsWith('--')));
const taps = tapsArg.split(',');
const l2s = (l2Arg && !l2Arg.startsWith('--') ? l2Arg : '0.003,0.01,0.03').split(',').map(Number);
const width = parseBackboneId(id).width;
const tr = await loadSplit(id, 'train');
const va = await loadSplit(id, 'val');
const flipTrain = !flags.has('--no-flip-train');
const p = prepare(width, tr, va, taps, flipTrain);
const k = tr.labels.length;
const cw = classWeights(p.y, k);
const fmt = (s: { acc: number; f1: number; ece: number }): string =>
  `acc ${s.acc.toFixed(3)} f1 ${s.f1.toFixed(3)} ece ${s.ece.toFixed(3)}`;
for (const l2 of l2s) {
  const t0 = performance.now();
  const head = flags.has('--mlp')
    ? trainMlp(p.X, p.y, k, {
        hidden: 64,
        l2,
        lr: 1e-3,
        epochs: 40,
        patience: 6,
        batchSize: 64,
        seed: 42,
        classWeights: cw,
        val: { X: Float32Array.from(p.vO.flatMap((r) => [...r])), y: va.y },
      })
    : trainSoftmax(p.X, p.y, k, { l2, classWeights: cw });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  const a = score(head, p.vO, undefined, va.y, tr.labels);
  const b = score(head, p.vO, p.vF, va.y, tr.labels);
  console.log(
    `${id} [${taps.join('+')}] d=${p.dim} ${flags.has('--mlp') ? 'mlp' : 'softmax'} flipTrain=${flipTrain} l2=${l2} | ${fmt(a)} | flipTTA ${fmt(b)} | ${secs}s`,
  );
}
