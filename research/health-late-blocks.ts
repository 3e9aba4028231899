// Issue 14, lever 1 on health: the 1.4 backbone's block 16 and final 1x1 conv (whose pooled outputs
// are three of the health taps: b16_expand, b16_out, embedding) trained on cached block-15 maps (7 x 7
// at the health input, 224), against a softmax on every health tap, with the gradient code of
// late-blocks.ts (block-grad.ts); then the health recipe (default taps, flip-TTA, softmax with class
// weights at λ `--l2`, temperature for ECE) on val and grouped 5-fold CV (near-duplicate groups), the
// blocks retrained inside each fold. `--epochs 0` is the converted weights through the same code.
// fp32 graph; nothing is written but the embedding cache (the data's licence is unclear).
// Usage: node bin/run-ts.js research/health-late-blocks.ts [--epochs N] [--lr X] [--sp X]
//        [--seed N] [--l2 X]   (docs/model-research.md §31)
import { join, resolve } from 'node:path';
import { BackbonePool } from '../src/ml/backbone/session.ts';
import { listImageFolder } from '../src/ml/data/dataset.ts';
import { embedItems } from '../src/ml/embed/embedder.ts';
import { fitStandardizer } from '../src/ml/head/standardize.ts';
import { DEFAULT_PREPROCESS } from '../src/ml/preprocess.ts';
import { DEFAULTS } from '../src/ml/train/defaults.ts';
import { classWeights } from '../src/ml/train/fit-heads.ts';
import {
  Adam,
  type Block,
  BlockNet,
  convertedBlocks,
  convertedFinalConv,
  gatherMaps,
  gatherPairs,
  JointHead,
  JOINT_TRAINING,
  leverArgs,
  type MapViews,
  type Pointwise,
  pullTowards,
  runEpochs,
  splitViews,
  stepBlocks,
  viewPairs,
} from './block-grad.ts';
import { fitHealthHead, HEALTH_ROOT, healthFolds, scoreHealth } from './health-lib.ts';
import { concatRows } from './lib.ts';

const { epochs: EPOCHS, lr: LR, sp: SP, seed: SEED, own } = leverArgs(5, { l2: '0.003' });
const L2 = Number(own.l2);

const { backbone, taps: healthTaps } = DEFAULTS.health;
const TRAINED = ['b16_expand', 'b16_out', 'embedding'];
if (backbone !== 'mnv2-140-224' || healthTaps.slice(-3).join() !== TRAINED.join())
  throw new Error(`written for mnv2-140-224 with ${TRAINED.join(', ')} as the last health taps`);
const fixedTaps = healthTaps.slice(0, -3);
const net = new BlockNet(7);
const P = net.positions;
const CIN = 224;
const C = 1344;
const COUT = 448;
const EMB = 1792;
const OWN = C + COUT + EMB; // the trained taps' values, last in every row

const train = await listImageFolder(join(HEALTH_ROOT, 'train'));
const val = await listImageFolder(join(HEALTH_ROOT, 'val'));
const { labels } = train;
const yOf = (items: typeof train.items) => Int32Array.from(items, (i) => labels.indexOf(i.label));
const yTr = yOf(train.items);
const fold = await healthFolds(train.items);

const pool = new BackbonePool(resolve('data/store'), { intraOpThreads: 2 });
const taps = [...fixedTaps, 'b15_out:raw', ...TRAINED];
const session = await pool.get(backbone, taps);
const spec = { ...DEFAULT_PREPROCESS, ...DEFAULTS.health.preprocess, size: 224 };
const common = { session, spec, taps, flip: true, cacheDir: resolve('data/embed-cache') };
const tr = await embedItems(train.items, common);
const va = await embedItems(val.items, common);
await pool.close();

const trainViews = [splitViews(tr.original, P, CIN, OWN), splitViews(tr.flipped!, P, CIN, OWN)];
const valViews = [splitViews(va.original, P, CIN, OWN), splitViews(va.flipped!, P, CIN, OWN)];
const FIXED = trainViews[0]!.fixed[0]!.length;

interface Trained {
  blocks: Block[];
  final: Pointwise;
}

/** The trained taps (pooled b16_expand, b16_out, embedding) of n views. */
async function forward(t: Trained, x: Float32Array, n: number) {
  const f = await net.forward(t.blocks, x, n);
  const last = f.steps.at(-1)!;
  const e = await net.finalForward(t.final, last.out, n);
  const own = new Float32Array(n * OWN);
  for (let v = 0; v < n; v++) {
    const o = v * OWN;
    for (let p = 0; p < P; p++)
      for (let c = 0; c < C; c++) own[o + c] += last.a1[(v * P + p) * C + c]! / P;
    own.set(f.pooled.subarray(v * COUT, (v + 1) * COUT), o + C);
    own.set(e.pooled.subarray(v * EMB, (v + 1) * EMB), o + C + COUT);
  }
  return { f, e, own };
}

/** Every view's full feature row (fixed taps + the trained taps), 64 views at a time. */
async function rowsOf(t: Trained, views: MapViews): Promise<Float32Array[]> {
  const n = views.fixed.length;
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i += 64) {
    const idx = [...Array(Math.min(64, n - i)).keys()].map((j) => i + j);
    const { own } = await forward(t, gatherMaps(views, idx), idx.length);
    idx.forEach((v, j) =>
      out.push(concatRows([views.fixed[v]!, own.subarray(j * OWN, (j + 1) * OWN)])),
    );
  }
  return out;
}

const converted = (): Trained => ({ blocks: convertedBlocks(16), final: convertedFinalConv() });

async function trainOn(idx: readonly number[]): Promise<Trained> {
  const t0 = converted();
  const t = converted();
  if (EPOCHS === 0) return t;
  const k = labels.length;
  const views = viewPairs(idx);
  const cw = classWeights(
    Int32Array.from(views, ([, i]) => yTr[i]!),
    k,
  );
  const start = await Promise.all(trainViews.map((v) => rowsOf(t0, v)));
  const st = fitStandardizer(views.map(([s, i]) => start[s]![i]!));
  const head = new JointHead(k, st);
  const opt = new Adam();
  await runEpochs(views, EPOCHS, SEED, async (batch) => {
    const n = batch.length;
    const { f, e: emb, own } = await forward(t, gatherPairs(trainViews, batch), n);
    const dOwn = new Float32Array(n * OWN);
    let loss = 0;
    batch.forEach(([s, i], j) => {
      const row = concatRows([trainViews[s]!.fixed[i]!, own.subarray(j * OWN, (j + 1) * OWN)]);
      loss += head.step(row, yTr[i]!, cw[yTr[i]!]! / n, dOwn, j * OWN, OWN);
    });
    // Split dOwn into the three taps' gradients.
    const dExpand = new Float32Array(n * P * C);
    const dOut = new Float32Array(n * COUT);
    const dEmb = new Float32Array(n * EMB);
    for (let v = 0; v < n; v++) {
      for (let p = 0; p < P; p++)
        for (let c = 0; c < C; c++) dExpand[(v * P + p) * C + c] = dOwn[v * OWN + c]! / P;
      dOut.set(dOwn.subarray(v * OWN + C, v * OWN + C + COUT), v * COUT);
      dEmb.set(dOwn.subarray(v * OWN + C + COUT, (v + 1) * OWN), v * EMB);
    }
    const last = f.steps.at(-1)!;
    const gFinal = await net.finalBackward(t.final, last.out, emb.h, n, dEmb);
    const g = await net.backward(t.blocks, f.steps, n, dOut, gFinal.dX, dExpand);
    pullTowards(g, t.blocks, t0.blocks, SP);
    for (let i = 0; i < t.final.w.length; i++) gFinal.w[i] += SP * (t.final.w[i]! - t0.final.w[i]!);
    opt.step();
    stepBlocks(opt, t.blocks, g, LR);
    opt.update(t.final.w, gFinal.w, LR);
    opt.update(t.final.b, gFinal.b, LR);
    head.update(opt, JOINT_TRAINING.headLr, JOINT_TRAINING.headL2);
    return loss;
  });
  return t;
}

/** The health recipe on the training items `idx` with `t`'s taps; logits of `views`' item i. */
async function recipeOn(t: Trained, idx: readonly number[]) {
  const rows = await Promise.all(trainViews.map((v) => rowsOf(t, v)));
  const predict = await fitHealthHead(
    [...idx.map((i) => rows[0]![i]!), ...idx.map((i) => rows[1]![i]!)],
    Int32Array.from([...idx, ...idx], (i) => yTr[i]!),
    labels.length,
    L2,
  );
  return { predict, rows };
}

// The code's forward pass against the graph's own taps (converted weights).
{
  const rows = await rowsOf(converted(), valViews[0]!);
  let worst = 0;
  rows.forEach((r, v) =>
    valViews[0]!.graph[v]!.forEach(
      (g, j) => (worst = Math.max(worst, Math.abs(g - r[FIXED + j]!))),
    ),
  );
  console.error(
    `forward pass vs graph b16_expand, b16_out, embedding: max |diff| ${worst.toExponential(2)}`,
  );
}

const all = [...train.items.keys()];
let t = performance.now();
const full = await trainOn(all);
const trainSeconds = (performance.now() - t) / 1000;
const { predict } = await recipeOn(full, all);
const valRows = await Promise.all(valViews.map((v) => rowsOf(full, v)));
const v = scoreHealth(
  yOf(val.items),
  val.items.map((_, i) => predict(valRows[0]![i]!, valRows[1]![i]!)),
  labels,
);
const truth: number[] = [];
const logits: Float32Array[] = [];
for (let k = 0; k < 5; k++) {
  const idx = all.filter((i) => fold[i] !== k);
  t = performance.now();
  const trained = await trainOn(idx);
  console.error(`fold ${k}: trained in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  const { predict: p, rows } = await recipeOn(trained, idx);
  for (const i of all)
    if (fold[i] === k) {
      truth.push(yTr[i]!);
      logits.push(p(rows[0]![i]!, rows[1]![i]!));
    }
}
const cv = scoreHealth(truth, logits, labels);
console.log(
  JSON.stringify({
    epochs: EPOCHS,
    lr: LR,
    sp: SP,
    seed: SEED,
    l2: L2,
    train_seconds: +trainSeconds.toFixed(0),
    val: v,
    cv,
  }),
);
