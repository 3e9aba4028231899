// Issue 14, lever 1: train the backbone's last block. MobileNetV2 1.4's block 16 (`--first 15`:
// blocks 15 and 16) as the converter builds it (1x1 expand + ReLU6, 3x3 depthwise + ReLU6, 1x1
// project, batch-norm folded) is trained on cached maps of the block before it (the frozen blocks run
// once per image), with the project's own gradient code (block-grad.ts), then the shipped head recipe
// runs on the shipped taps with the retrained `b16_out`. Scored on val and on grouped 5-fold
// cross-validation of train: inside each fold the blocks are retrained on that fold's training items
// only. `--epochs 0` is the converted weights through the same code (the fp32 baseline).
//
// While the blocks train, the head they train against is a softmax on their own pooled output
// (`--head b16`, 448 values: the blocks must make them separable) or on every shipped tap
// (`--head all`). Adam; L2 towards the converted weights (`--sp`) keeps the blocks near them.
// Usage: node bin/run-ts.js research/late-blocks.ts [--first 15|16] [--head b16|all] [--epochs N]
//        [--lr X] [--sp X] [--seed N]   (docs/model-research.md §30)
import { resolve } from 'node:path';
import { BackbonePool } from '../src/ml/backbone/session.ts';
import { embedItems } from '../src/ml/embed/embedder.ts';
import { computeMetrics } from '../src/ml/evaluate/metrics.ts';
import { fitStandardizer } from '../src/ml/head/standardize.ts';
import { classWeights } from '../src/ml/train/fit-heads.ts';
import {
  Adam,
  type Block,
  BlockNet,
  convertedBlocks,
  gatherMaps,
  gatherPairs,
  JointHead,
  JOINT_TRAINING,
  leverArgs,
  type MapViews,
  PARAMS,
  pullTowards,
  runEpochs,
  splitViews,
  stepBlocks,
  viewPairs,
} from './block-grad.ts';
import { concatRows } from './lib.ts';
import { shippedSpecies } from './shipped.ts';
import { cvFolds, fitShippedHead, leverFigures } from './val-and-cv.ts';

const {
  epochs: EPOCHS,
  lr: LR,
  sp: SP,
  seed: SEED,
  own: args,
} = leverArgs(10, {
  head: 'b16',
  first: '16',
});
const HEAD = args.head === 'all' ? 'all' : 'b16';
/** The first trained block: 16 alone, or 15 and 16. */
const FIRST = args.first === '15' ? 15 : 16;

const S = 4; // block 16's map at a 128 input
const P = S * S;
const CIN = 224; // channels of block 14's and block 15's outputs
const COUT = 448;

const shipped = await shippedSpecies();
const { train, val, labels, yOf } = shipped;
if (shipped.manifest.backbone.id !== 'mnv2-140-128-b16' || shipped.taps.at(-1) !== 'b16_out')
  throw new Error('written for the shipped mnv2-140-128-b16 with b16_out as its last tap');
const fixedTaps = shipped.taps.slice(0, -1);

const net = new BlockNet(S);

// --- Data: the fixed taps, block 15's map and the graph's b16_out of every view ---------------------
const pool = new BackbonePool(resolve('data/store'), { intraOpThreads: 2 });
const taps = [...fixedTaps, `b${FIRST - 1}_out:raw`, 'b16_out'];
const session = await pool.get(shipped.manifest.backbone.id, taps);
const common = { session, spec: shipped.spec, taps, cacheDir: resolve('data/embed-cache') };
const tr = await embedItems(train.items, { ...common, flip: true });
const va = await embedItems(val.items, { ...common, flip: false });
await pool.close();

const trainViews = [splitViews(tr.original, P, CIN, COUT), splitViews(tr.flipped!, P, CIN, COUT)];
const valViews = splitViews(va.original, P, CIN, COUT);
const yTr = yOf(train.items);

/** Pooled b16_out of every view of `views` through blocks `b`, 256 views at a time. */
async function blockOutputs(b: readonly Block[], views: MapViews): Promise<Float32Array[]> {
  const n = views.fixed.length;
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i += 256) {
    const idx = [...Array(Math.min(256, n - i)).keys()].map((j) => i + j);
    const f = await net.forward(b, gatherMaps(views, idx), idx.length);
    for (let j = 0; j < idx.length; j++) out.push(f.pooled.slice(j * COUT, (j + 1) * COUT));
  }
  return out;
}

// --- Training the blocks on the training items `idx` (originals and mirrors) ---------------------
async function trainBlocks(idx: readonly number[]): Promise<Block[]> {
  const b0 = convertedBlocks(FIRST);
  const b = convertedBlocks(FIRST);
  if (EPOCHS === 0) return b;
  const k = labels.length;
  const views = viewPairs(idx);
  const y = Int32Array.from(views, ([, i]) => yTr[i]!);
  const cw = classWeights(y, k);
  // The head's inputs are standardised once, on the converted block's outputs.
  const start = await Promise.all(trainViews.map((v) => blockOutputs(b0, v)));
  const headRows = (out: Float32Array, s: number, i: number): Float32Array =>
    HEAD === 'b16' ? out : concatRows([trainViews[s]!.fixed[i]!, out]);
  const st = fitStandardizer(views.map(([s, i]) => headRows(start[s]![i]!, s, i)));
  const head = new JointHead(k, st);
  const opt = new Adam();
  await runEpochs(views, EPOCHS, SEED, async (batch) => {
    const n = batch.length;
    const f = await net.forward(b, gatherPairs(trainViews, batch), n);
    const dOut = new Float32Array(n * COUT);
    let loss = 0;
    batch.forEach(([s, i], j) => {
      const row = headRows(f.pooled.subarray(j * COUT, (j + 1) * COUT), s, i);
      // Only the blocks' own 448 values (the last ones of the head's input) reach the blocks.
      loss += head.step(row, yTr[i]!, cw[yTr[i]!]! / n, dOut, j * COUT, COUT);
    });
    const g = await net.backward(b, f.steps, n, dOut);
    pullTowards(g, b, b0, SP);
    opt.step();
    stepBlocks(opt, b, g, LR);
    head.update(opt, JOINT_TRAINING.headLr, JOINT_TRAINING.headL2);
    return loss;
  });
  return b;
}

// --- Scoring: the shipped head recipe on the fixed taps + the block's output ----------------------
// Also the recipe on the block's 448 values alone: does the block itself get better?
async function headOnBlocks(b: readonly Block[], idx: readonly number[]) {
  const outs = await Promise.all(trainViews.map((v) => blockOutputs(b, v)));
  const rows = [0, 1].flatMap((s) =>
    idx.map((i) => concatRows([trainViews[s]!.fixed[i]!, outs[s]![i]!])),
  );
  const y = Int32Array.from([...idx, ...idx], (i) => yTr[i]!);
  const alone = [0, 1].flatMap((s) => idx.map((i) => outs[s]![i]!));
  return {
    predict: await fitShippedHead(shipped, rows, y),
    predictAlone: await fitShippedHead(shipped, alone, y),
    trainOut: outs[0]!,
  };
}

// The code's forward pass against the graph's own b16_out (converted weights).
{
  const weights = convertedBlocks(FIRST).reduce(
    (a, b) => a + PARAMS.reduce((n, p) => n + b[p].length, 0),
    0,
  );
  console.error(`trained weights (${FIRST === 15 ? 'blocks 15 and 16' : 'block 16'}): ${weights}`);
  const ours = await blockOutputs(convertedBlocks(FIRST), valViews);
  let worst = 0;
  ours.forEach((o, v) =>
    o.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - valViews.graph[v]![j]!)))),
  );
  console.error(`forward pass vs graph b16_out: max |diff| ${worst.toExponential(2)}`);
}

const all = [...train.items.keys()];
let trainSeconds = 0;
let t = performance.now();
const full = await trainBlocks(all);
trainSeconds = (performance.now() - t) / 1000;
const { predict, predictAlone } = await headOnBlocks(full, all);
const valOut = await blockOutputs(full, valViews);
const v = computeMetrics(
  yOf(val.items),
  val.items.map((_, i) => predict(concatRows([valViews.fixed[i]!, valOut[i]!]))),
  labels,
);
const vAlone = computeMetrics(yOf(val.items), valOut.map(predictAlone), labels);
const fold = cvFolds(train.items);
const truth: number[] = [];
const probs: Float64Array[] = [];
const probsAlone: Float64Array[] = [];
for (let k = 0; k < 5; k++) {
  const idx = all.filter((i) => fold[i] !== k);
  t = performance.now();
  const b = await trainBlocks(idx);
  console.error(`fold ${k}: block trained in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  const { predict: p, predictAlone: pa, trainOut } = await headOnBlocks(b, idx);
  for (const i of all)
    if (fold[i] === k) {
      truth.push(yTr[i]!);
      probs.push(p(concatRows([trainViews[0]!.fixed[i]!, trainOut[i]!])));
      probsAlone.push(pa(trainOut[i]!));
    }
}
const cv = computeMetrics(truth, probs, labels);
const cvAlone = computeMetrics(truth, probsAlone, labels);
console.log(
  JSON.stringify({
    blocks: FIRST === 15 ? '15-16' : '16',
    head: HEAD,
    epochs: EPOCHS,
    lr: LR,
    sp: SP,
    seed: SEED,
    train_seconds: +trainSeconds.toFixed(0),
    ...leverFigures(v, cv),
    val_ece: +v.ece.toFixed(3),
    b16_alone_val_top1: +vAlone.accuracy.toFixed(3),
    b16_alone_val_macro_f1: +vAlone.macro_f1.toFixed(3),
    b16_alone_cv_top1: +cvAlone.accuracy.toFixed(3),
    b16_alone_cv_macro_f1: +cvAlone.macro_f1.toFixed(3),
  }),
);
