// Issue 14, lever 1 where the features are: the shipped head reads mostly the 3x3-grid averages of
// blocks 12 and 13's expansions (`b12_expand:q3`, `b13_expand:q3`: 14,688 of its 15,136 inputs),
// and those expansions are 1x1 convs (+ ReLU6) of layers the NSFW fine-tuning moved (blocks 11 on).
// So the two 1x1 convs (136 → 816 each) are trained on cached maps of their inputs (b11_out,
// b12_out, 8x8 at a 128 input) jointly with a softmax on every shipped tap, b16_out held fixed; the
// trained convs would run as side branches (the blocks downstream keep the converted weights).
// Then the shipped head recipe, on val and on grouped 5-fold cross-validation of train (the convs
// retrained inside each fold). `--epochs 0` is the converted weights (the fp32 baseline).
// Adam; L2 towards the converted weights (`--sp`).
// Usage: node bin/run-ts.js research/grid-tap-convs.ts [--epochs N] [--lr X] [--sp X] [--seed N]
//        (docs/model-research.md §32)
import { resolve } from 'node:path';
import { BackbonePool } from '../src/ml/backbone/session.ts';
import { embedItems } from '../src/ml/embed/embedder.ts';
import { computeMetrics } from '../src/ml/evaluate/metrics.ts';
import { fitStandardizer } from '../src/ml/head/standardize.ts';
import { classWeights } from '../src/ml/train/fit-heads.ts';
import {
  Adam,
  convertedExpandConv,
  gridBackward,
  gridForward,
  gridRegions,
  JointHead,
  JOINT_TRAINING,
  leverArgs,
  type Pointwise,
  runEpochs,
  viewPairs,
} from './block-grad.ts';
import { concatRows } from './lib.ts';
import { shippedSpecies } from './shipped.ts';
import { cvFolds, fitShippedHead, leverFigures } from './val-and-cv.ts';

const { epochs: EPOCHS, lr: LR, sp: SP, seed: SEED } = leverArgs(5);

const S = 8; // blocks 11-13's maps at a 128 input
const P = S * S;
const CIN = 136;
const COUT = 816;
const REGIONS = gridRegions(S, 3);
const GRID = COUT * REGIONS.length; // values of one grid tap
const B16 = 448;
const TRAINED = [12, 13] as const;

const shipped = await shippedSpecies();
const { train, val, labels, yOf } = shipped;
if (
  shipped.manifest.backbone.id !== 'mnv2-140-128-b16' ||
  shipped.taps.join() !== 'b12_expand:q3,b13_expand:q3,b16_out'
)
  throw new Error(
    'written for the shipped mnv2-140-128-b16 on b12_expand:q3, b13_expand:q3, b16_out',
  );

// --- Data: b16_out, the two input maps and the graph's own grid taps of every view ----------------
const pool = new BackbonePool(resolve('data/store'), { intraOpThreads: 2 });
const taps = ['b16_out', 'b11_out:raw', 'b12_out:raw', 'b12_expand:q3', 'b13_expand:q3'];
const session = await pool.get(shipped.manifest.backbone.id, taps);
const common = { session, spec: shipped.spec, taps, cacheDir: resolve('data/embed-cache') };
const tr = await embedItems(train.items, { ...common, flip: true });
const va = await embedItems(val.items, { ...common, flip: false });
await pool.close();

interface Views {
  b16: Float32Array[];
  /** Each trained conv's input maps, [views·P × CIN], position-major within a view. */
  maps: [Float32Array, Float32Array];
  /** The graph's own b12_expand:q3 and b13_expand:q3. */
  graph: [Float32Array[], Float32Array[]];
}

function views(rows: Float32Array[]): Views {
  const map = (offset: number) => {
    const x = new Float32Array(rows.length * P * CIN);
    rows.forEach((r, v) => {
      for (let c = 0; c < CIN; c++)
        for (let p = 0; p < P; p++) x[(v * P + p) * CIN + c] = r[offset + c * P + p]!;
    });
    return x;
  };
  const g = B16 + 2 * CIN * P;
  return {
    b16: rows.map((r) => r.subarray(0, B16)),
    maps: [map(B16), map(B16 + CIN * P)],
    graph: [rows.map((r) => r.subarray(g, g + GRID)), rows.map((r) => r.subarray(g + GRID))],
  };
}
const trainViews = [views(tr.original), views(tr.flipped!)];
const valViews = views(va.original);
const yTr = yOf(train.items);

const mapLen = P * CIN;
const gather = (sets: readonly Views[], pairs: readonly [number, number][], m: 0 | 1) => {
  const x = new Float32Array(pairs.length * mapLen);
  pairs.forEach(([s, i], j) =>
    x.set(sets[s]!.maps[m].subarray(i * mapLen, (i + 1) * mapLen), j * mapLen),
  );
  return x;
};

/** Each view's two grid taps through `convs`, 256 views at a time. */
async function gridTaps(convs: readonly Pointwise[], set: Views): Promise<Float32Array[][]> {
  const n = set.b16.length;
  const out: Float32Array[][] = [[], []];
  for (let i = 0; i < n; i += 256) {
    const pairs = [...Array(Math.min(256, n - i)).keys()].map((j): [number, number] => [0, i + j]);
    for (const m of [0, 1] as const) {
      const { pooled } = await gridForward(
        convs[m]!,
        gather([set], pairs, m),
        pairs.length,
        P,
        REGIONS,
      );
      for (let j = 0; j < pairs.length; j++) out[m]!.push(pooled.slice(j * GRID, (j + 1) * GRID));
    }
  }
  return out;
}

// --- Training the two convs on the training items `idx` (originals and mirrors) ------------------
async function trainConvs(idx: readonly number[]): Promise<Pointwise[]> {
  const c0 = TRAINED.map(convertedExpandConv);
  const c = TRAINED.map(convertedExpandConv);
  if (EPOCHS === 0) return c;
  const k = labels.length;
  const pairs = viewPairs(idx);
  const cw = classWeights(
    Int32Array.from(pairs, ([, i]) => yTr[i]!),
    k,
  );
  // The joint softmax reads [b16_out, b12 grid, b13 grid]: the trained values last, as JointHead
  // hands back their gradient. Standardised once, on the converted convs' outputs.
  const start = await Promise.all(trainViews.map((v) => gridTaps(c0, v)));
  const row = (s: number, i: number, g12: Float32Array, g13: Float32Array) =>
    concatRows([trainViews[s]!.b16[i]!, g12, g13]);
  const st = fitStandardizer(
    pairs.map(([s, i]) => row(s, i, start[s]![0]![i]!, start[s]![1]![i]!)),
  );
  const head = new JointHead(k, st);
  const opt = new Adam();
  await runEpochs(pairs, EPOCHS, SEED, async (batch) => {
    const n = batch.length;
    const xs = [gather(trainViews, batch, 0), gather(trainViews, batch, 1)];
    const fw: Awaited<ReturnType<typeof gridForward>>[] = [];
    for (const m of [0, 1] as const) fw.push(await gridForward(c[m]!, xs[m]!, n, P, REGIONS));
    const dTail = new Float32Array(n * 2 * GRID);
    let loss = 0;
    batch.forEach(([s, i], j) => {
      const r = row(
        s,
        i,
        fw[0]!.pooled.subarray(j * GRID, (j + 1) * GRID),
        fw[1]!.pooled.subarray(j * GRID, (j + 1) * GRID),
      );
      loss += head.step(r, yTr[i]!, cw[yTr[i]!]! / n, dTail, j * 2 * GRID, 2 * GRID);
    });
    opt.step();
    for (const m of [0, 1] as const) {
      const dPooled = new Float32Array(n * GRID);
      for (let j = 0; j < n; j++)
        dPooled.set(dTail.subarray((2 * j + m) * GRID, (2 * j + m + 1) * GRID), j * GRID);
      const g = await gridBackward(c[m]!, xs[m]!, fw[m]!.h, n, P, REGIONS, dPooled);
      for (let i = 0; i < g.w.length; i++) g.w[i] += SP * (c[m]!.w[i]! - c0[m]!.w[i]!);
      opt.update(c[m]!.w, g.w, LR);
      opt.update(c[m]!.b, g.b, LR);
    }
    head.update(opt, JOINT_TRAINING.headLr, JOINT_TRAINING.headL2);
    return loss;
  });
  return c;
}

// --- Scoring: the shipped head recipe on [b12 grid, b13 grid, b16_out] as the graph lays them out -
async function headOnConvs(c: readonly Pointwise[], idx: readonly number[]) {
  const outs = await Promise.all(trainViews.map((v) => gridTaps(c, v)));
  const rowOf = (s: number, i: number) =>
    concatRows([outs[s]![0]![i]!, outs[s]![1]![i]!, trainViews[s]!.b16[i]!]);
  const rows = [0, 1].flatMap((s) => idx.map((i) => rowOf(s, i)));
  const y = Int32Array.from([...idx, ...idx], (i) => yTr[i]!);
  return { predict: await fitShippedHead(shipped, rows, y), trainRow: (i: number) => rowOf(0, i) };
}

// The code's forward pass against the graph's own grid taps (converted weights).
{
  const ours = await gridTaps(TRAINED.map(convertedExpandConv), valViews);
  let worst = 0;
  for (const m of [0, 1] as const)
    ours[m]!.forEach((o, v) =>
      o.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - valViews.graph[m][v]![j]!)))),
    );
  console.error(`trained weights: ${2 * (COUT * CIN + COUT)}`);
  console.error(
    `forward pass vs graph b12_expand:q3, b13_expand:q3: max |diff| ${worst.toExponential(2)}`,
  );
}

const all = [...train.items.keys()];
let t = performance.now();
const full = await trainConvs(all);
const trainSeconds = (performance.now() - t) / 1000;
const { predict } = await headOnConvs(full, all);
const valOut = await gridTaps(full, valViews);
const v = computeMetrics(
  yOf(val.items),
  val.items.map((_, i) => predict(concatRows([valOut[0]![i]!, valOut[1]![i]!, valViews.b16[i]!]))),
  labels,
);
const fold = cvFolds(train.items);
const truth: number[] = [];
const probs: Float64Array[] = [];
for (let k = 0; k < 5; k++) {
  const idx = all.filter((i) => fold[i] !== k);
  t = performance.now();
  const c = await trainConvs(idx);
  console.error(`fold ${k}: convs trained in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  const { predict: p, trainRow } = await headOnConvs(c, idx);
  for (const i of all)
    if (fold[i] === k) {
      truth.push(yTr[i]!);
      probs.push(p(trainRow(i)));
    }
}
const cv = computeMetrics(truth, probs, labels);
console.log(
  JSON.stringify({
    trained: 'b12_expand, b13_expand',
    epochs: EPOCHS,
    lr: LR,
    sp: SP,
    seed: SEED,
    train_seconds: +trainSeconds.toFixed(0),
    ...leverFigures(v, cv),
    val_ece: +v.ece.toFixed(3),
  }),
);
