// Gradients through the last inverted-residual blocks of MobileNetV2 1.4 as the converter builds
// them (1x1 expand + ReLU6, 3x3 depthwise + ReLU6, 1x1 project, batch-norm folded, residual add when
// the shapes allow), through the final 1x1 conv (+ ReLU6) that gives the `embedding` tap, and
// through a 1x1 conv under the `:qN` grid pooling: the shared code of issue 14's first lever
// (late-blocks.ts, health-late-blocks.ts, grid-tap-convs.ts), with the scaffolding
// the scripts train with (cached views, the softmax the blocks train against, the Adam steps). The
// large products run in onnxruntime Gemm on one thread (same data, same result), the depthwise 3x3 in
// loops.
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { backboneIR } from '../src/ml/backbone/build.ts';
import type { ConvOp, Op } from '../src/ml/backbone/ir.ts';
import { GEMM_SESSION_OPTIONS, gemmModel } from '../src/ml/gemm.ts';
import type { Standardizer } from '../src/ml/head/standardize.ts';
import { rng, shuffleInPlace } from '../src/ml/rng.ts';

// --- The blocks' weights, as the converter folds them ---------------------------------------------
export interface Block {
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
export const PARAMS = ['w1', 'b1', 'wd', 'bd', 'w3', 'b3'] as const;
export type Grads = Record<(typeof PARAMS)[number], Float32Array>;

/** Blocks `first`..16 (inputs at first - 1's output); throws if the graph is not shaped so. */
export function convertedBlocks(first: number): Block[] {
  const ir = backboneIR(140);
  const conv = (tap: string) => convFor(ir.ops, ir.taps.get(tap), tap);
  const blocks: Block[] = [];
  for (let n = first; n <= 16; n++) {
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

/** The final 1x1 conv + ReLU6 after block 16 (its pooled output is the `embedding` tap). */
export interface Pointwise {
  cin: number;
  cout: number;
  w: Float32Array; // [cout × cin]
  b: Float32Array;
}

export function convertedFinalConv(): Pointwise {
  return convertedPointwise('embedding', 'b16_out');
}

/** Block `n`'s 1x1 expand conv (+ ReLU6) on block n - 1's output: what the `bN_expand` taps pool. */
export function convertedExpandConv(n: number): Pointwise {
  return convertedPointwise(`b${n}_expand`, `b${n - 1}_out`);
}

function convertedPointwise(tap: string, input: string): Pointwise {
  const ir = backboneIR(140);
  const op = convFor(ir.ops, ir.taps.get(tap), tap);
  if (op.input !== ir.taps.get(input) || !op.relu6 || op.weightShape[2] !== 1)
    throw new Error(`${tap} is not a 1x1 conv + ReLU6 on ${input}`);
  return {
    cin: op.weightShape[1],
    cout: op.weightShape[0],
    w: op.weight.slice(),
    b: op.bias.slice(),
  };
}

function convFor(ops: readonly Op[], output: string | undefined, tap: string): ConvOp {
  const op = ops.find((o) => o.kind === 'conv' && o.output === output);
  if (!op || op.kind !== 'conv') throw new Error(`no conv for ${tap}`);
  return op;
}

/** 3x3 neighbours of each position of an s x s map with SAME padding: [tap index, source position]. */
function neighbours(s: number): [number, number][][] {
  const all: [number, number][][] = [];
  for (let y = 0; y < s; y++)
    for (let x = 0; x < s; x++) {
      const nb: [number, number][] = [];
      for (let ky = 0; ky < 3; ky++)
        for (let kx = 0; kx < 3; kx++) {
          const sy = y + ky - 1;
          const sx = x + kx - 1;
          if (sy >= 0 && sy < s && sx >= 0 && sx < s) nb.push([ky * 3 + kx, sy * s + sx]);
        }
      all.push(nb);
    }
  return all;
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

export interface Forward {
  x: Float32Array;
  h1: Float32Array;
  a1: Float32Array;
  h2: Float32Array;
  a2: Float32Array;
  out: Float32Array; // [rows × cout]
}

/** The blocks' maths on s x s maps (4 x 4 at a 128 input, 7 x 7 at 224). */
export class BlockNet {
  private readonly nb: [number, number][][];
  /** Positions per view. */
  readonly positions: number;

  constructor(readonly size: number) {
    this.nb = neighbours(size);
    this.positions = size * size;
  }

  /** One block on `rows` = n·P positions (position-major within a view), `x` [rows × cin]. */
  async blockForward(b: Block, x: Float32Array, rows: number): Promise<Forward> {
    const P = this.positions;
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
        for (const [k, q] of this.nb[p]!) {
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

  /**
   * Gradients of one block's parameters, and dL/dx when asked, given dL/d(out) and, if the pooled
   * expansion is a feature too, dL/d(expansion) `dA1` (added in place).
   */
  async blockBackward(
    b: Block,
    f: Forward,
    rows: number,
    dOut: Float32Array,
    dx: boolean,
    dA1In?: Float32Array,
  ) {
    const P = this.positions;
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
    const dA1 = dA1In ?? new Float32Array(rows * c);
    for (let v = 0; v < rows / P; v++)
      for (let p = 0; p < P; p++) {
        const o = (v * P + p) * c;
        for (const [k, q] of this.nb[p]!) {
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

  /** The blocks on n views, then average pooling: `pooled` [n × cout] is `b16_out`. */
  async forward(blocks: readonly Block[], x: Float32Array, n: number) {
    const P = this.positions;
    const steps: Forward[] = [];
    let h = x;
    for (const b of blocks) {
      const f = await this.blockForward(b, h, n * P);
      steps.push(f);
      h = f.out;
    }
    const COUT = blocks.at(-1)!.cout;
    const pooled = new Float32Array(n * COUT);
    for (let v = 0; v < n; v++)
      for (let p = 0; p < P; p++)
        for (let j = 0; j < COUT; j++) pooled[v * COUT + j] += h[(v * P + p) * COUT + j]! / P;
    return { steps, pooled };
  }

  /**
   * Every block's gradients given dL/d(pooled b16_out) [n × cout] and, optionally, dL/d(each
   * position's b16_out) `dMap` [n·P × cout] and dL/d(the last block's expansion) `dA1` [n·P × c].
   */
  async backward(
    blocks: readonly Block[],
    steps: readonly Forward[],
    n: number,
    dPooled: Float32Array,
    dMap?: Float32Array,
    dA1?: Float32Array,
  ): Promise<Grads[]> {
    const P = this.positions;
    const COUT = blocks.at(-1)!.cout;
    let dOut: Float32Array = new Float32Array(n * P * COUT);
    for (let v = 0; v < n; v++)
      for (let p = 0; p < P; p++)
        for (let j = 0; j < COUT; j++)
          dOut[(v * P + p) * COUT + j] =
            dPooled[v * COUT + j]! / P + (dMap?.[(v * P + p) * COUT + j] ?? 0);
    const grads: Grads[] = [];
    for (let i = blocks.length - 1; i >= 0; i--) {
      const last = i === blocks.length - 1;
      const { g, dX } = await this.blockBackward(
        blocks[i]!,
        steps[i]!,
        n * P,
        dOut,
        i > 0,
        last ? dA1 : undefined,
      );
      grads[i] = g;
      if (dX) dOut = dX;
    }
    return grads;
  }

  /** The final conv on each position's b16_out `x` [rows × cin]: pre-activation and pooled output. */
  async finalForward(f: Pointwise, x: Float32Array, n: number) {
    const P = this.positions;
    const h = await abt(x, n * P, f.w, f.cout);
    const pooled = new Float32Array(n * f.cout);
    for (let v = 0; v < n; v++)
      for (let p = 0; p < P; p++)
        for (let j = 0; j < f.cout; j++) {
          const i = (v * P + p) * f.cout + j;
          h[i] += f.b[j]!;
          pooled[v * f.cout + j] += relu6(h[i]!) / P;
        }
    return { h, pooled };
  }

  /** The final conv's gradients and dL/d(each position's b16_out), given dL/d(pooled embedding). */
  async finalBackward(
    f: Pointwise,
    x: Float32Array,
    h: Float32Array,
    n: number,
    dPooled: Float32Array,
  ) {
    const P = this.positions;
    const dH = new Float32Array(h.length);
    for (let v = 0; v < n; v++)
      for (let p = 0; p < P; p++)
        for (let j = 0; j < f.cout; j++) {
          const i = (v * P + p) * f.cout + j;
          const a = h[i]!;
          if (a > 0 && a < 6) dH[i] = dPooled[v * f.cout + j]! / P;
        }
    return {
      w: await atb(dH, x, n * P),
      b: colSums(dH, f.cout),
      dX: await abt(dH, n * P, transpose(f.w, f.cout, f.cin), f.cin),
    };
  }
}

// --- Adam ------------------------------------------------------------------------------------------
export class Adam {
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

// --- Scaffolding of the lever-1 scripts ------------------------------------------------------------

/** Cached rows split: the fixed taps, the input map as [positions × cin] rows, the graph's own tail. */
export interface MapViews {
  fixed: Float32Array[];
  x: Float32Array; // [views·positions × cin]
  graph: Float32Array[];
}

/** Rows laid out as fixed taps, then a raw [cin, s, s] map, then `tail` values the graph computed. */
export function splitViews(
  rows: Float32Array[],
  positions: number,
  cin: number,
  tail: number,
): MapViews {
  const fixedLen = rows[0]!.length - cin * positions - tail;
  const x = new Float32Array(rows.length * positions * cin);
  rows.forEach((r, v) => {
    for (let c = 0; c < cin; c++)
      for (let p = 0; p < positions; p++)
        x[(v * positions + p) * cin + c] = r[fixedLen + c * positions + p]!;
  });
  return {
    fixed: rows.map((r) => r.subarray(0, fixedLen)),
    x,
    graph: rows.map((r) => r.subarray(fixedLen + cin * positions)),
  };
}

/** The input maps of `views`' items `idx`, one after another. */
export function gatherMaps(views: MapViews, idx: readonly number[]): Float32Array {
  const len = views.x.length / views.fixed.length;
  const x = new Float32Array(idx.length * len);
  idx.forEach((i, j) => x.set(views.x.subarray(i * len, (i + 1) * len), j * len));
  return x;
}

/** The input maps of views given as [set (e.g. 0 original, 1 mirror), item], one after another. */
export function gatherPairs(
  sets: readonly MapViews[],
  pairs: readonly [number, number][],
): Float32Array {
  const len = sets[0]!.x.length / sets[0]!.fixed.length;
  const x = new Float32Array(pairs.length * len);
  pairs.forEach(([s, i], j) => x.set(sets[s]!.x.subarray(i * len, (i + 1) * len), j * len));
  return x;
}

/**
 * The options of every lever-1 script (`--epochs`, `--lr` for the trained layers, `--sp` for the pull
 * towards the converted weights, `--seed`) as numbers, and the script's own string options.
 */
export function leverArgs(epochs: number, own: Record<string, string> = {}) {
  const options: Record<string, { type: 'string'; default: string }> = {};
  for (const [name, value] of Object.entries({
    epochs: String(epochs),
    lr: '1e-4',
    sp: '1e-3',
    seed: '1',
    ...own,
  }))
    options[name] = { type: 'string', default: value };
  const values = parseArgs({ options }).values as Record<string, string>;
  return {
    epochs: Number(values.epochs),
    lr: Number(values.lr),
    sp: Number(values.sp),
    seed: Number(values.seed),
    own: values,
  };
}

/** What the lever-1 scripts train with: the joint softmax's Adam step and decay, views per batch. */
export const JOINT_TRAINING = { headLr: 1e-3, headL2: 1e-3, batch: 64 };

/** Each training item `idx` as two views: [0 (original), item] and [1 (mirror), item]. */
export function viewPairs(idx: readonly number[]): [number, number][] {
  return idx.flatMap((i): [number, number][] => [
    [0, i],
    [1, i],
  ]);
}

/**
 * `epochs` passes over `views` in an order drawn from `seed`, JOINT_TRAINING.batch views at a time;
 * `step` trains on one batch and returns its summed loss; each epoch's mean batch loss is logged.
 */
export async function runEpochs<T>(
  views: readonly T[],
  epochs: number,
  seed: number,
  step: (batch: T[]) => Promise<number>,
): Promise<void> {
  const { batch } = JOINT_TRAINING;
  const rand = rng(seed);
  for (let e = 0; e < epochs; e++) {
    const order = shuffleInPlace([...views.keys()], rand);
    let loss = 0;
    for (let o = 0; o < order.length; o += batch)
      loss += await step(order.slice(o, o + batch).map((j) => views[j]!));
    console.error(`  epoch ${e + 1}: loss ${(loss / Math.ceil(order.length / batch)).toFixed(4)}`);
  }
}

/** The softmax the blocks train against: weights [k × d] on inputs standardised by `st`. */
export class JointHead {
  readonly V: Float32Array;
  readonly bias: Float32Array;
  gV: Float32Array;
  gBias: Float32Array;
  private readonly z: Float32Array;
  private readonly d: number;

  constructor(
    private readonly k: number,
    private readonly st: Standardizer,
  ) {
    this.d = st.mean.length;
    this.V = new Float32Array(k * this.d);
    this.bias = new Float32Array(k);
    this.gV = new Float32Array(this.V.length);
    this.gBias = new Float32Array(k);
    this.z = new Float32Array(this.d);
  }

  /**
   * One view (raw inputs `row`, class `y`, loss weight `w`): adds the head's gradients, and
   * dL/d(the last `tail` raw inputs) into `dTail` at `offset`; returns the view's loss.
   */
  step(
    row: Float32Array,
    y: number,
    w: number,
    dTail: Float32Array,
    offset: number,
    tail: number,
  ): number {
    const { k, d, st, V, z } = this;
    for (let t = 0; t < d; t++) z[t] = (row[t]! - st.mean[t]!) / st.std[t]!;
    const logits = Float64Array.from(this.bias);
    for (let c = 0; c < k; c++) {
      let a = 0;
      for (let t = 0; t < d; t++) a += V[c * d + t]! * z[t]!;
      logits[c] += a;
    }
    const mx = Math.max(...logits);
    let sum = 0;
    for (let c = 0; c < k; c++) sum += logits[c] = Math.exp(logits[c]! - mx);
    for (let c = 0; c < k; c++) {
      const dl = w * (logits[c]! / sum - (c === y ? 1 : 0));
      this.gBias[c] += dl;
      for (let t = 0; t < d; t++) this.gV[c * d + t] += dl * z[t]!;
      for (let t = 0; t < tail; t++)
        dTail[offset + t] += (dl * V[c * d + d - tail + t]!) / st.std[d - tail + t]!;
    }
    return -w * Math.log(logits[y]! / sum);
  }

  /** Weight decay `l2`, the Adam step, and fresh gradients for the next batch. */
  update(opt: Adam, lr: number, l2: number) {
    for (let i = 0; i < this.V.length; i++) this.gV[i] += l2 * this.V[i]!;
    opt.update(this.V, this.gV, lr);
    opt.update(this.bias, this.gBias, lr);
    this.gV = new Float32Array(this.V.length);
    this.gBias = new Float32Array(this.k);
  }
}

/** Adds the L2 pull `sp`·(w − w0) on every block's weights to their gradients. */
export function pullTowards(
  grads: Grads[],
  blocks: readonly Block[],
  blocks0: readonly Block[],
  sp: number,
) {
  grads.forEach((g, m) => {
    for (const p of ['w1', 'wd', 'w3'] as const) {
      const w = blocks[m]![p];
      const w0 = blocks0[m]![p];
      for (let i = 0; i < w.length; i++) g[p][i] += sp * (w[i]! - w0[i]!);
    }
  });
}

/** The Adam step of every block parameter. */
export function stepBlocks(opt: Adam, blocks: readonly Block[], grads: Grads[], lr: number) {
  grads.forEach((g, m) => {
    for (const p of PARAMS) opt.update(blocks[m]![p], g[p], lr);
  });
}

// --- A 1x1 conv + ReLU6 under the converter's `:qN` grid pooling ----------------------------------

/**
 * The positions of each of the converter's n x n regions of an s x s map (onnx-writer.ts: squares
 * of side s - (n - 1)·floor(s / n), stride floor(s / n), row-major), in the graph's output order.
 */
export function gridRegions(s: number, n: number): number[][] {
  const stride = Math.floor(s / n);
  const k = s - (n - 1) * stride;
  const regions: number[][] = [];
  for (let gy = 0; gy < n; gy++)
    for (let gx = 0; gx < n; gx++) {
      const r: number[] = [];
      for (let y = gy * stride; y < gy * stride + k; y++)
        for (let x = gx * stride; x < gx * stride + k; x++) r.push(y * s + x);
      regions.push(r);
    }
  return regions;
}

/**
 * `f` on n views of P positions each (`x` [n·P × cin], position-major within a view), then each
 * region's average: `pooled` [n × cout·R], channel-major like the graph's `bN_expand:qN` taps.
 */
export async function gridForward(
  f: Pointwise,
  x: Float32Array,
  n: number,
  P: number,
  regions: readonly number[][],
) {
  const R = regions.length;
  const h = await abt(x, n * P, f.w, f.cout);
  for (let r = 0; r < n * P; r++) for (let j = 0; j < f.cout; j++) h[r * f.cout + j] += f.b[j]!;
  const pooled = new Float32Array(n * f.cout * R);
  for (let v = 0; v < n; v++)
    regions.forEach((reg, q) => {
      for (const p of reg) {
        const o = (v * P + p) * f.cout;
        for (let j = 0; j < f.cout; j++) pooled[(v * f.cout + j) * R + q] += relu6(h[o + j]!);
      }
      for (let j = 0; j < f.cout; j++) pooled[(v * f.cout + j) * R + q] /= reg.length;
    });
  return { h, pooled };
}

/** `f`'s gradients given dL/d(pooled) [n × cout·R] of gridForward's output. */
export async function gridBackward(
  f: Pointwise,
  x: Float32Array,
  h: Float32Array,
  n: number,
  P: number,
  regions: readonly number[][],
  dPooled: Float32Array,
) {
  const R = regions.length;
  const dH = new Float32Array(h.length);
  for (let v = 0; v < n; v++)
    regions.forEach((reg, q) => {
      for (const p of reg) {
        const o = (v * P + p) * f.cout;
        for (let j = 0; j < f.cout; j++) {
          const a = h[o + j]!;
          if (a > 0 && a < 6) dH[o + j] += dPooled[(v * f.cout + j) * R + q]! / reg.length;
        }
      }
    });
  return { w: await atb(dH, x, n * P), b: colSums(dH, f.cout) };
}
