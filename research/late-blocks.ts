// Issue 14, lever 1: train the backbone's last block. MobileNetV2 1.4's block 16 (1x1 expand +
// ReLU6, 3x3 depthwise + ReLU6, 1x1 project; batch-norm folded, as the converter builds it) is
// trained on cached block-15 maps (the frozen blocks 0-15 run once per image), with the project's
// own gradient code (the two large products in onnxruntime Gemm), then the shipped head recipe runs
// on the shipped taps with the retrained `b16_out`. Scored on val and on grouped 5-fold
// cross-validation of train: inside each fold the block is retrained on that fold's training items
// only. `--epochs 0` is the untrained block through the same code (the fp32 baseline).
//
// While the block trains, the head it trains against is a softmax on its own pooled output
// (`--head b16`, 448 values: the block must make them separable) or on every shipped tap
// (`--head all`). Adam; L2 towards the converted weights (`--sp`) keeps the block near them.
// Usage: node bin/run-ts.js research/late-blocks.ts [--head b16|all] [--epochs N] [--lr X]
//        [--sp X] [--seed N]   (docs/model-research.md §30)
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { backboneIR } from '../src/ml/backbone/build.ts';
import type { ConvOp, Op } from '../src/ml/backbone/ir.ts';
import { BackbonePool } from '../src/ml/backbone/session.ts';
import { embedItems } from '../src/ml/embed/embedder.ts';
import { computeMetrics } from '../src/ml/evaluate/metrics.ts';
import { GEMM_SESSION_OPTIONS, gemmModel } from '../src/ml/gemm.ts';
import { fitStandardizer } from '../src/ml/head/standardize.ts';
import { classWeights } from '../src/ml/train/fit-heads.ts';
import { rng, shuffleInPlace } from '../src/ml/rng.ts';
import { shippedSpecies } from './shipped.ts';
import { cvFolds, fitShippedHead } from './val-and-cv.ts';

const { values: args } = parseArgs({
  options: {
    head: { type: 'string', default: 'b16' },
    epochs: { type: 'string', default: '10' },
    lr: { type: 'string', default: '1e-4' },
    sp: { type: 'string', default: '1e-3' },
    seed: { type: 'string', default: '1' },
    first: { type: 'string', default: '16' },
  },
});
const HEAD = args.head === 'all' ? 'all' : 'b16';
const EPOCHS = Number(args.epochs);
const LR = Number(args.lr);
const SP = Number(args.sp);
const SEED = Number(args.seed);
/** The first trained block: 16 alone, or 15 and 16. */
const FIRST = args.first === '15' ? 15 : 16;
const HEAD_LR = 1e-3;
const HEAD_L2 = 1e-3;
const BATCH = 64;

const S = 4; // block 16's map at a 128 input
const P = S * S;
const CIN = 224; // channels of block 14's and block 15's outputs
const COUT = 448;

const shipped = await shippedSpecies();
const { train, val, labels, yOf } = shipped;
if (shipped.manifest.backbone.id !== 'mnv2-140-128-b16' || shipped.taps.at(-1) !== 'b16_out')
  throw new Error('written for the shipped mnv2-140-128-b16 with b16_out as its last tap');
const fixedTaps = shipped.taps.slice(0, -1);

// --- The blocks' weights, as the converter folds them ---------------------------------------------
interface Block {
  residual: boolean;
  cin: number;
  c: number;
  cout: number;
  w1: Float32Array; // [c × cin]
  b1: Float32Array;
  wd: Float32Array; // [9 × c]: tap-major, so the inner loops run along channels
  bd: Float32Array;
  w3: Float32Array; // [cout × c]
  b3: Float32Array;
}
const PARAMS = ['w1', 'b1', 'wd', 'bd', 'w3', 'b3'] as const;
type Grads = Record<(typeof PARAMS)[number], Float32Array>;

/** Blocks `FIRST`..16 (inputs at FIRST - 1's output); throws if the graph is not shaped so. */
function convertedBlocks(): Block[] {
  const ir = backboneIR(140);
  const conv = (tap: string): ConvOp => {
    const op = ir.ops.find((o) => o.kind === 'conv' && o.output === ir.taps.get(tap));
    if (!op || op.kind !== 'conv') throw new Error(`no conv for ${tap}`);
    return op;
  };
  const blocks: Block[] = [];
  for (let n = FIRST; n <= 16; n++) {
    const e = conv(`b${n}_expand`);
    const d = conv(`b${n}_dw`);
    const p = findProject(ir.ops, d.output);
    const residual = ir.ops.some((o) => o.kind === 'add' && o.output === ir.taps.get(`b${n}_out`));
    if (e.input !== ir.taps.get(`b${n - 1}_out`) || !e.relu6 || !d.relu6 || p.relu6)
      throw new Error(`block ${n} is not expand+ReLU6 → depthwise+ReLU6 → project`);
    if (d.strides[0] !== 1 || d.weightShape[2] !== 3) throw new Error(`block ${n} is not 3x3/1`);
    const [c, cin] = [e.weightShape[0], e.weightShape[1]];
    const wd = new Float32Array(9 * c);
    for (let ch = 0; ch < c; ch++)
      for (let k = 0; k < 9; k++) wd[k * c + ch] = d.weight[ch * 9 + k]!;
    blocks.push({
      residual,
      cin,
      c,
      cout: p.weightShape[0],
      w1: e.weight.slice(),
      b1: e.bias.slice(),
      wd,
      bd: d.bias.slice(),
      w3: p.weight.slice(),
      b3: p.bias.slice(),
    });
  }
  return blocks;
}

function findProject(ops: readonly Op[], dwOut: string): ConvOp {
  const op = ops.find((o) => o.kind === 'conv' && o.input === dwOut);
  if (!op || op.kind !== 'conv') throw new Error(`no projection after ${dwOut}`);
  return op;
}

// 3x3 neighbours of each position with SAME padding: [tap index, source position].
const NEIGHBOURS: [number, number][][] = [];
for (let y = 0; y < S; y++)
  for (let x = 0; x < S; x++) {
    const nb: [number, number][] = [];
    for (let ky = 0; ky < 3; ky++)
      for (let kx = 0; kx < 3; kx++) {
        const sy = y + ky - 1;
        const sx = x + kx - 1;
        if (sy >= 0 && sy < S && sx >= 0 && sx < S) nb.push([ky * 3 + kx, sy * S + sx]);
      }
    NEIGHBOURS.push(nb);
  }

// --- Matrix products in onnxruntime --------------------------------------------------------------
const abtSession = await ort.InferenceSession.create(
  gemmModel('A', 'B', false),
  GEMM_SESSION_OPTIONS,
);
const atbSession = await ort.InferenceSession.create(
  gemmModel('A', 'B', true),
  GEMM_SESSION_OPTIONS,
);
async function gemm(
  s: ort.InferenceSession,
  a: Float32Array,
  ar: number,
  b: Float32Array,
  br: number,
): Promise<Float32Array> {
  const out = await s.run({
    A: new ort.Tensor('float32', a, [ar, a.length / ar]),
    B: new ort.Tensor('float32', b, [br, b.length / br]),
  });
  return out.Y!.data as Float32Array;
}
/** A·Bᵀ: A [n × d], B [k × d]. */
const abt = (a: Float32Array, n: number, b: Float32Array, k: number) =>
  gemm(abtSession, a, n, b, k);
/** Aᵀ·B: A [n × d1], B [n × d2]. */
const atb = (a: Float32Array, b: Float32Array, n: number) => gemm(atbSession, a, n, b, n);

function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c]!;
  return t;
}

function colSums(m: Float32Array, cols: number): Float32Array {
  const s = new Float32Array(cols);
  for (let i = 0; i < m.length; i += cols) for (let c = 0; c < cols; c++) s[c] += m[i + c]!;
  return s;
}

const relu6 = (v: number) => (v < 0 ? 0 : v > 6 ? 6 : v);

interface Forward {
  x: Float32Array;
  h1: Float32Array;
  a1: Float32Array;
  h2: Float32Array;
  a2: Float32Array;
  out: Float32Array; // [rows × cout]
}

/** One block on `rows` = n·P positions (position-major within a view), `x` [rows × cin]. */
async function blockForward(b: Block, x: Float32Array, rows: number): Promise<Forward> {
  const { c } = b;
  const h1 = await abt(x, rows, b.w1, c);
  const a1 = new Float32Array(h1.length);
  for (let r = 0; r < rows; r++)
    for (let ch = 0; ch < c; ch++) {
      const i = r * c + ch;
      h1[i] += b.b1[ch]!;
      a1[i] = relu6(h1[i]!);
    }
  const h2 = new Float32Array(h1.length);
  const a2 = new Float32Array(h1.length);
  for (let v = 0; v < rows / P; v++)
    for (let p = 0; p < P; p++) {
      const o = (v * P + p) * c;
      h2.set(b.bd, o);
      for (const [k, q] of NEIGHBOURS[p]!) {
        const a = (v * P + q) * c;
        const w = k * c;
        for (let ch = 0; ch < c; ch++) h2[o + ch] += b.wd[w + ch]! * a1[a + ch]!;
      }
      for (let ch = 0; ch < c; ch++) a2[o + ch] = relu6(h2[o + ch]!);
    }
  const out = await abt(a2, rows, b.w3, b.cout);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < b.cout; j++) {
      const i = r * b.cout + j;
      out[i] += b.b3[j]! + (b.residual ? x[i]! : 0);
    }
  return { x, h1, a1, h2, a2, out };
}

/** Gradients of one block's parameters, and dL/dx when asked, given dL/d(out). */
async function blockBackward(b: Block, f: Forward, rows: number, dOut: Float32Array, dx: boolean) {
  const { c } = b;
  const g = {
    w3: await atb(dOut, f.a2, rows),
    b3: colSums(dOut, b.cout),
  } as Grads;
  const dH2 = await abt(dOut, rows, transpose(b.w3, b.cout, c), c);
  for (let i = 0; i < dH2.length; i++) {
    const h = f.h2[i]!;
    if (!(h > 0 && h < 6)) dH2[i] = 0;
  }
  g.bd = colSums(dH2, c);
  g.wd = new Float32Array(9 * c);
  const dA1 = new Float32Array(rows * c);
  for (let v = 0; v < rows / P; v++)
    for (let p = 0; p < P; p++) {
      const o = (v * P + p) * c;
      for (const [k, q] of NEIGHBOURS[p]!) {
        const a = (v * P + q) * c;
        const w = k * c;
        for (let ch = 0; ch < c; ch++) {
          g.wd[w + ch] += dH2[o + ch]! * f.a1[a + ch]!;
          dA1[a + ch] += b.wd[w + ch]! * dH2[o + ch]!;
        }
      }
    }
  for (let i = 0; i < dA1.length; i++) {
    const h = f.h1[i]!;
    if (!(h > 0 && h < 6)) dA1[i] = 0;
  }
  g.b1 = colSums(dA1, c);
  g.w1 = await atb(dA1, f.x, rows);
  if (!dx) return { g };
  const dX = await abt(dA1, rows, transpose(b.w1, c, b.cin), b.cin);
  if (b.residual) for (let i = 0; i < dX.length; i++) dX[i] += dOut[i]!;
  return { g, dX };
}

/** The blocks on n views, then average pooling: `pooled` [n × COUT] is `b16_out`. */
async function forward(blocks: readonly Block[], x: Float32Array, n: number) {
  const steps: Forward[] = [];
  let h = x;
  for (const b of blocks) {
    const f = await blockForward(b, h, n * P);
    steps.push(f);
    h = f.out;
  }
  const pooled = new Float32Array(n * COUT);
  for (let v = 0; v < n; v++)
    for (let p = 0; p < P; p++)
      for (let j = 0; j < COUT; j++) pooled[v * COUT + j] += h[(v * P + p) * COUT + j]! / P;
  return { steps, pooled };
}

/** Every block's gradients given dL/d(pooled b16_out) [n × COUT]. */
async function backward(
  blocks: readonly Block[],
  steps: readonly Forward[],
  n: number,
  dPooled: Float32Array,
): Promise<Grads[]> {
  let dOut: Float32Array = new Float32Array(n * P * COUT);
  for (let v = 0; v < n; v++)
    for (let p = 0; p < P; p++)
      for (let j = 0; j < COUT; j++) dOut[(v * P + p) * COUT + j] = dPooled[v * COUT + j]! / P;
  const grads: Grads[] = [];
  for (let i = blocks.length - 1; i >= 0; i--) {
    const { g, dX } = await blockBackward(blocks[i]!, steps[i]!, n * P, dOut, i > 0);
    grads[i] = g;
    if (dX) dOut = dX;
  }
  return grads;
}

// --- Adam ------------------------------------------------------------------------------------------
class Adam {
  private m = new Map<Float32Array, Float32Array>();
  private v = new Map<Float32Array, Float32Array>();
  private t = 0;
  step() {
    this.t++;
  }
  update(w: Float32Array, g: Float32Array, lr: number) {
    let m = this.m.get(w);
    let v = this.v.get(w);
    if (!m || !v) {
      m = new Float32Array(w.length);
      v = new Float32Array(w.length);
      this.m.set(w, m);
      this.v.set(w, v);
    }
    const c1 = 1 - 0.9 ** this.t;
    const c2 = 1 - 0.999 ** this.t;
    for (let i = 0; i < w.length; i++) {
      m[i] = 0.9 * m[i]! + 0.1 * g[i]!;
      v[i] = 0.999 * v[i]! + 0.001 * g[i]! * g[i]!;
      w[i] -= (lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + 1e-8);
    }
  }
}

// --- Data: the fixed taps, block 15's map and the graph's b16_out of every view ---------------------
const pool = new BackbonePool(resolve('data/store'), { intraOpThreads: 2 });
const taps = [...fixedTaps, `b${FIRST - 1}_out:raw`, 'b16_out'];
const session = await pool.get(shipped.manifest.backbone.id, taps);
const common = { session, spec: shipped.spec, taps, cacheDir: resolve('data/embed-cache') };
const tr = await embedItems(train.items, { ...common, flip: true });
const va = await embedItems(val.items, { ...common, flip: false });
await pool.close();

const FIXED = tr.original[0]!.length - CIN * P - COUT;
interface Views {
  fixed: Float32Array[];
  x: Float32Array; // [views·P × CIN]
  graphOut: Float32Array[];
}
function split(rows: Float32Array[]): Views {
  const x = new Float32Array(rows.length * P * CIN);
  rows.forEach((r, v) => {
    for (let c = 0; c < CIN; c++)
      for (let p = 0; p < P; p++) x[(v * P + p) * CIN + c] = r[FIXED + c * P + p]!;
  });
  return {
    fixed: rows.map((r) => r.subarray(0, FIXED)),
    x,
    graphOut: rows.map((r) => r.subarray(FIXED + CIN * P)),
  };
}
const trainViews = [split(tr.original), split(tr.flipped!)];
const valViews = split(va.original);
const yTr = yOf(train.items);

function gatherX(views: Views, idx: readonly number[]): Float32Array {
  const x = new Float32Array(idx.length * P * CIN);
  idx.forEach((i, j) => x.set(views.x.subarray(i * P * CIN, (i + 1) * P * CIN), j * P * CIN));
  return x;
}

/** Pooled b16_out of every view of `views` through blocks `b`, 256 views at a time. */
async function blockOutputs(b: readonly Block[], views: Views): Promise<Float32Array[]> {
  const n = views.fixed.length;
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i += 256) {
    const idx = [...Array(Math.min(256, n - i)).keys()].map((j) => i + j);
    const f = await forward(b, gatherX(views, idx), idx.length);
    for (let j = 0; j < idx.length; j++) out.push(f.pooled.slice(j * COUT, (j + 1) * COUT));
  }
  return out;
}

// --- Training the blocks on the training items `idx` (originals and mirrors) ---------------------
async function trainBlocks(idx: readonly number[]): Promise<Block[]> {
  const b0 = convertedBlocks();
  const b = convertedBlocks();
  if (EPOCHS === 0) return b;
  const k = labels.length;
  // Views: [set (0 original, 1 mirror), item].
  const views = idx.flatMap((i) => [
    [0, i],
    [1, i],
  ]) as [number, number][];
  const y = Int32Array.from(views, ([, i]) => yTr[i]!);
  const cw = classWeights(y, k);
  // The head's inputs are standardised once, on the converted block's outputs.
  const start = await Promise.all(trainViews.map((v) => blockOutputs(b0, v)));
  const headRows = (out: Float32Array, s: number, i: number): Float32Array =>
    HEAD === 'b16' ? out : concat(trainViews[s]!.fixed[i]!, out);
  const st = fitStandardizer(views.map(([s, i]) => headRows(start[s]![i]!, s, i)));
  const d = st.mean.length;
  const V = new Float32Array(k * d);
  const bias = new Float32Array(k);
  const opt = new Adam();
  const rand = rng(SEED);
  for (let e = 0; e < EPOCHS; e++) {
    const order = shuffleInPlace([...views.keys()], rand);
    let loss = 0;
    for (let o = 0; o < order.length; o += BATCH) {
      const batch = order.slice(o, o + BATCH).map((j) => views[j]!);
      const n = batch.length;
      const x = new Float32Array(n * P * CIN);
      batch.forEach(([s, i], j) =>
        x.set(trainViews[s]!.x.subarray(i * P * CIN, (i + 1) * P * CIN), j * P * CIN),
      );
      const f = await forward(b, x, n);
      const gV = new Float32Array(V.length);
      const gBias = new Float32Array(k);
      const dOut = new Float32Array(n * COUT);
      const z = new Float32Array(d);
      for (let j = 0; j < n; j++) {
        const [s, i] = batch[j]!;
        const row = headRows(f.pooled.subarray(j * COUT, (j + 1) * COUT), s, i);
        for (let t = 0; t < d; t++) z[t] = (row[t]! - st.mean[t]!) / st.std[t]!;
        const logits = Float64Array.from(bias);
        for (let c = 0; c < k; c++) {
          let a = 0;
          for (let t = 0; t < d; t++) a += V[c * d + t]! * z[t]!;
          logits[c] += a;
        }
        const mx = Math.max(...logits);
        let sum = 0;
        for (let c = 0; c < k; c++) sum += logits[c] = Math.exp(logits[c]! - mx);
        const w = cw[yTr[i]!]! / n;
        loss -= w * Math.log(logits[yTr[i]!]! / sum);
        for (let c = 0; c < k; c++) {
          const dl = w * (logits[c]! / sum - (c === yTr[i] ? 1 : 0));
          gBias[c] += dl;
          for (let t = 0; t < d; t++) gV[c * d + t] += dl * z[t]!;
          // Only the block's own 448 values (the last ones of the head's input) reach the block.
          for (let t = 0; t < COUT; t++)
            dOut[j * COUT + t] += (dl * V[c * d + d - COUT + t]!) / st.std[d - COUT + t]!;
        }
      }
      const g = await backward(b, f.steps, n, dOut);
      g.forEach((gb, m) => {
        for (const p of ['w1', 'wd', 'w3'] as const) {
          const w = b[m]![p];
          const w0 = b0[m]![p];
          const gp = gb[p];
          for (let i = 0; i < w.length; i++) gp[i] += SP * (w[i]! - w0[i]!);
        }
      });
      for (let i = 0; i < V.length; i++) gV[i] += HEAD_L2 * V[i]!;
      opt.step();
      g.forEach((gb, m) => {
        for (const p of PARAMS) opt.update(b[m]![p], gb[p], LR);
      });
      opt.update(V, gV, HEAD_LR);
      opt.update(bias, gBias, HEAD_LR);
    }
    console.error(`  epoch ${e + 1}: loss ${(loss / Math.ceil(order.length / BATCH)).toFixed(4)}`);
  }
  return b;
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const r = new Float32Array(a.length + b.length);
  r.set(a);
  r.set(b, a.length);
  return r;
}

// --- Scoring: the shipped head recipe on the fixed taps + the block's output ----------------------
// Also the recipe on the block's 448 values alone: does the block itself get better?
async function headOnBlocks(b: readonly Block[], idx: readonly number[]) {
  const outs = await Promise.all(trainViews.map((v) => blockOutputs(b, v)));
  const rows = [0, 1].flatMap((s) =>
    idx.map((i) => concat(trainViews[s]!.fixed[i]!, outs[s]![i]!)),
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
  const weights = convertedBlocks().reduce(
    (a, b) => a + PARAMS.reduce((n, p) => n + b[p].length, 0),
    0,
  );
  console.error(`trained weights (${FIRST === 15 ? 'blocks 15 and 16' : 'block 16'}): ${weights}`);
  const ours = await blockOutputs(convertedBlocks(), valViews);
  let worst = 0;
  ours.forEach((o, v) =>
    o.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - valViews.graphOut[v]![j]!)))),
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
  val.items.map((_, i) => predict(concat(valViews.fixed[i]!, valOut[i]!))),
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
      probs.push(p(concat(trainViews[0]!.fixed[i]!, trainOut[i]!)));
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
    val_top1: +v.accuracy.toFixed(3),
    val_macro_f1: +v.macro_f1.toFixed(3),
    val_ece: +v.ece.toFixed(3),
    val_recall_acanthurus: +v.per_class['acanthurus-nigrofuscus']!.recall.toFixed(3),
    cv_top1: +cv.accuracy.toFixed(3),
    cv_macro_f1: +cv.macro_f1.toFixed(3),
    b16_alone_val_top1: +vAlone.accuracy.toFixed(3),
    b16_alone_val_macro_f1: +vAlone.macro_f1.toFixed(3),
    b16_alone_cv_top1: +cvAlone.accuracy.toFixed(3),
    b16_alone_cv_macro_f1: +cvAlone.macro_f1.toFixed(3),
  }),
);
