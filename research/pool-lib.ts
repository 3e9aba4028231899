// Pooling research (docs/model-research.md §7-§9): the unpooled maps of a few taps are fetched
// from the graph (`<tap>:raw`) and pooled here in every variant the graph can compute (average,
// max, GeM p = 2/3/4, 2x2 grid), exactly as onnx-writer.ts does, so one embedding pass per input
// size serves every pooling candidate. Also: grouped k-fold cross-validation on train.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { BackboneSession } from '../src/ml/backbone/session.ts';
import { parseTap, tapChannels } from '../src/ml/backbone/specs.ts';
import { groupOf, listImageFolder, sha256File } from '../src/ml/data/dataset.ts';
import type { ImageItem } from '../src/ml/data/dataset.ts';
import { embedItems } from '../src/ml/embed/embedder.ts';
import { listImagesRecursive } from '../src/ml/evaluate/evaluate-model.ts';
import { computeMetrics } from '../src/ml/evaluate/metrics.ts';
import type { Metrics } from '../src/ml/evaluate/metrics.ts';
import { DEFAULT_PREPROCESS } from '../src/ml/preprocess.ts';
import type { PreprocessSpec } from '../src/ml/preprocess.ts';
import { fitTemperature } from '../src/ml/train/calibrate.ts';
import { classWeights } from '../src/ml/train/fit-heads.ts';
import { headLogits, softmax } from '../src/ml/head/head.ts';
import type { Head } from '../src/ml/head/head.ts';
import { trainSoftmax } from '../src/ml/train/softmax-regression.ts';
import { fitStandardizer, pack, standardize } from '../src/ml/head/standardize.ts';
import { trainSoftmaxGemm } from '../src/ml/train/softmax-gemm.ts';
import { concatRows } from './lib.ts';

export const POOL_BASES = ['b12_expand', 'b13_expand', 'b16_out'];
export const POOL_KINDS = ['avg', 'max', 'gem2', 'gem3', 'gem4', 'q2'];
/** Layout of one cached research vector: every base tap × every pooling. */
export const POOL_TAPS = POOL_BASES.flatMap((b) => POOL_KINDS.map((k) => `${b}:${k}`));
/** A second cache (`--extra`): finer grids and the neighbouring expanded blocks. */
export const EXTRA_TAPS = [
  'b12_expand:q3',
  'b13_expand:q3',
  'b16_out:q3',
  'b11_expand:avg',
  'b11_expand:q2',
  'b14_expand:avg',
  'b14_expand:q2',
  'b16_expand:avg',
  'b16_expand:q2',
];

/** Pools one NCHW map [C, h, h] (sample `i` of `data`) like the ONNX graph does. */
export function poolMap(
  data: Float32Array,
  i: number,
  c: number,
  h: number,
  kind: string,
): Float32Array {
  const hw = h * h;
  const base = i * c * hw;
  const { pool } = parseTap(`x:${kind}`);
  if (pool.kind === 'grid') {
    const g = pool.n;
    const stride = Math.floor(h / g);
    const k = h - (g - 1) * stride;
    const out = new Float32Array(c * g * g);
    for (let ch = 0; ch < c; ch++)
      for (let qy = 0; qy < g; qy++)
        for (let qx = 0; qx < g; qx++) {
          let s = 0;
          for (let y = qy * stride; y < qy * stride + k; y++)
            for (let x = qx * stride; x < qx * stride + k; x++)
              s += data[base + ch * hw + y * h + x];
          out[(ch * g + qy) * g + qx] = s / (k * k);
        }
    return out;
  }
  const out = new Float32Array(c);
  for (let ch = 0; ch < c; ch++) {
    const o = base + ch * hw;
    if (pool.kind === 'max') {
      let m = -Infinity;
      for (let j = 0; j < hw; j++) m = Math.max(m, data[o + j]);
      out[ch] = m;
    } else if (pool.kind === 'gem') {
      let s = 0;
      for (let j = 0; j < hw; j++) s += Math.max(data[o + j], 1e-6) ** pool.p;
      out[ch] = (s / hw) ** (1 / pool.p);
    } else {
      let s = 0;
      for (let j = 0; j < hw; j++) s += data[o + j];
      out[ch] = s / hw;
    }
  }
  return out;
}

/** Finer grids on the expanded blocks 12/13 (`--grid`). */
export const GRID_TAPS = ['b12_expand:q4', 'b13_expand:q4', 'b12_expand:q5', 'b13_expand:q5'];

/** Health research layout (224 input, untruncated graph): late expansions, outputs, embedding. */
export const HEALTH_TAPS = [
  'b11_expand',
  'b12_expand',
  'b13_expand',
  'b14_expand',
  'b15_expand',
  'b16_expand',
  'b16_out',
  'embedding',
].flatMap((b) => ['avg', 'q2', 'max'].map((k) => `${b}:${k}`));

export const rawBases = (layout: readonly string[]): string[] => [
  ...new Set(layout.map((t) => parseTap(t).base)),
];

/** A stand-in session: runs the real graph for raw maps, returns the pooled variants asked for. */
export function poolingSession(
  real: BackboneSession,
  layout: readonly string[] = POOL_TAPS,
): BackboneSession {
  const raw = rawBases(layout).map((b) => `${b}:raw`);
  return {
    spec: real.spec,
    inputSize: real.inputSize,
    outputs: layout,
    run: async (batch: Float32Array, n: number, taps?: readonly string[]) => {
      const out = await real.run(batch, n, raw);
      const res: Record<string, Float32Array> = {};
      for (const t of taps ?? layout) {
        const { base } = parseTap(t);
        const c = tapChannels(real.spec.width, base);
        const m = out[`${base}:raw`];
        const h = Math.round(Math.sqrt(m.length / n / c));
        const kind = t.slice(t.indexOf(':') + 1);
        const per = tapChannels(real.spec.width, t);
        const v = new Float32Array(n * per);
        for (let i = 0; i < n; i++) v.set(poolMap(m, i, c, h, kind), i * per);
        res[t] = v;
      }
      return res;
    },
  } as unknown as BackboneSession;
}

export interface PoolSplit {
  /** Taps of each row, in order. */
  layout: string[];
  labels: string[];
  items: ImageItem[];
  y: Int32Array;
  groups: string[];
  orig: Float32Array[];
  flip: Float32Array[];
}

export const POOL_CACHE = resolve('data/research-pool-cache');
/** Resampling of the research caches (`RESEARCH_KERNEL`, default lanczos3: the caches were made before bilinear became the default). */
export const RESEARCH_KERNEL = (process.env.RESEARCH_KERNEL ??
  'lanczos3') as PreprocessSpec['kernel'];
const researchSpec = (id: string): PreprocessSpec => ({
  ...DEFAULT_PREPROCESS,
  kernel: RESEARCH_KERNEL,
  size: Number(id.split('-')[2]),
});
const DATA = resolve(process.env.AQUAML_DATASETS_DIR ?? '../shared/data');

/** Cached pooled research vectors of `<dataset>/<split>` at `id` (run pool-embed.ts first). */
export async function loadPooled(
  id: string,
  dataset: string,
  split: 'train' | 'val',
  session?: BackboneSession,
  layout: string[] = POOL_TAPS,
): Promise<PoolSplit> {
  const folder = await listImageFolder(join(DATA, dataset, split));
  const spec = researchSpec(id);
  const e = await embedItems(folder.items, {
    session: session ?? ({ spec: { id } } as BackboneSession),
    spec,
    taps: layout,
    flip: true,
    cacheDir: POOL_CACHE,
  });
  if (e.computed && !session) throw new Error('run research/pool-embed.ts first');
  const prov = provenanceGroups(dataset);
  return {
    layout,
    labels: folder.labels,
    items: folder.items,
    y: Int32Array.from(folder.items.map((i) => folder.labels.indexOf(i.label))),
    groups: folder.items.map((it) => {
      const rel = `${split}/${it.label}/${basename(it.path)}`;
      return dataset !== 'fish-species' && prov.has(rel)
        ? `${it.label}/${prov.get(rel)}`
        : groupOf(it);
    }),
    orig: e.original,
    flip: e.flipped!,
  };
}

/**
 * Near-duplicate groups from a data set's provenance.csv (`file`, `group` columns): fish-health
 * groups augmented copies of one photo. fish-species uses the F4K clip (`groupOf`) instead.
 */
function provenanceGroups(dataset: string): Map<string, string> {
  const m = new Map<string, string>();
  const path = join(DATA, dataset, 'provenance.csv');
  if (!existsSync(path)) return m;
  const [head, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const cols = head.split(',');
  const fi = cols.indexOf('file');
  const gi = cols.indexOf('group');
  for (const l of lines) {
    const c = l.split(',');
    // Source paths may hold commas: file is the first column, group the fifth from the start.
    if (fi === 0 && gi >= 0) m.set(c[0], c[c.length - (cols.length - gi)]);
  }
  return m;
}

/** Every research cache layout, in the order they are searched for a tap. */
export const LAYOUTS = [POOL_TAPS, EXTRA_TAPS, GRID_TAPS, HEALTH_TAPS];

/**
 * Rows holding exactly `taps` (in that order; a bare tap means `:avg`), sliced out of whichever
 * research caches hold them, so only the needed values stay in memory.
 */
export async function loadTaps(
  id: string,
  dataset: string,
  split: 'train' | 'val',
  taps: string[],
): Promise<PoolSplit> {
  const want = taps.map((t) => (t.includes(':') ? t : `${t}:avg`));
  let meta: PoolSplit | undefined;
  const pieces = new Map<string, { orig: Float32Array[]; flip: Float32Array[] }>();
  for (const layout of LAYOUTS) {
    const here = want.filter((t) => layout.includes(t) && !pieces.has(t));
    if (!here.length) continue;
    let s: PoolSplit;
    try {
      s = await loadPooled(id, dataset, split, undefined, layout);
    } catch {
      continue; // this layout was not embedded for this data set / size
    }
    meta ??= s;
    for (const t of here)
      pieces.set(t, {
        orig: select(140, s.orig, [t], layout),
        flip: select(140, s.flip, [t], layout),
      });
  }
  const missing = want.filter((t) => !pieces.has(t));
  if (missing.length || !meta) throw new Error(`no research cache holds ${missing.join(', ')}`);
  const cat = (which: 'orig' | 'flip'): Float32Array[] =>
    meta!.orig.map((_, i) => concatRows(want.map((t) => pieces.get(t)![which][i]!)));
  return { ...meta, layout: want, orig: cat('orig'), flip: cat('flip') };
}

export async function loadPooledNonfish(
  id: string,
  session?: BackboneSession,
  layout: string[] = POOL_TAPS,
): Promise<Float32Array[]> {
  const paths = await listImagesRecursive(resolve('data/nonfish'));
  const items = await Promise.all(
    paths.map(async (path) => ({ path, label: '', sha256: await sha256File(path) })),
  );
  const e = await embedItems(items, {
    session: session ?? ({ spec: { id } } as BackboneSession),
    spec: researchSpec(id),
    taps: layout,
    flip: false,
    cacheDir: POOL_CACHE,
  });
  if (e.computed && !session) throw new Error('run research/pool-embed.ts first');
  return e.original;
}

/** Slices named pooled taps (e.g. `b13_expand:gem3`) out of research vectors. */
export function select(
  width: 100 | 140,
  rows: Float32Array[],
  taps: string[],
  layout: readonly string[] = POOL_TAPS,
): Float32Array[] {
  const offsets = new Map<string, [number, number]>();
  let o = 0;
  for (const t of layout) {
    const c = tapChannels(width, t);
    offsets.set(t, [o, c]);
    o += c;
  }
  const parts = taps.map((t) => {
    const key = t.includes(':') ? t : `${t}:avg`;
    const r = offsets.get(key);
    if (!r) throw new Error(`no research tap ${t}`);
    return r;
  });
  const dim = parts.reduce((a, [, c]) => a + c, 0);
  return rows.map((row) => {
    const v = new Float32Array(dim);
    let q = 0;
    for (const [off, c] of parts) {
      v.set(row.subarray(off, off + c), q);
      q += c;
    }
    return v;
  });
}

/**
 * Grouped, class-stratified k folds: within each class, groups (largest first, ties by name)
 * go to the fold with the fewest images of that class so far. Deterministic.
 */
export function groupedFolds(y: Int32Array, groups: string[], k = 5): Int32Array {
  const fold = new Int32Array(y.length);
  const classes = [...new Set(y)].sort((a, b) => a - b);
  for (const c of classes) {
    const members = new Map<string, number[]>();
    y.forEach((v, i) => {
      if (v !== c) return;
      members.set(groups[i], [...(members.get(groups[i]) ?? []), i]);
    });
    const load = new Array<number>(k).fill(0);
    const order = [...members.keys()].sort(
      (a, b) => members.get(b)!.length - members.get(a)!.length || a.localeCompare(b),
    );
    for (const g of order) {
      let f = 0;
      for (let j = 1; j < k; j++) if (load[j] < load[f]) f = j;
      for (const i of members.get(g)!) fold[i] = f;
      load[f] += members.get(g)!.length;
    }
  }
  return fold;
}

export interface Features {
  /** Training rows (original images) and their mirrored copies. */
  trO: Float32Array[];
  trF: Float32Array[];
  vaO: Float32Array[];
  vaF: Float32Array[];
}

export interface HeadFit {
  /** Logits for the given standardised rows. */
  logits: (rows: Float32Array[]) => Float32Array[];
}

export type Fitter = (
  X: Float32Array,
  y: Int32Array,
  k: number,
  rows: Float32Array[],
) => HeadFit | Promise<HeadFit>;

/** Softmax regression; `RESEARCH_FIT=js` uses the product's TypeScript trainer instead of ORT Gemm. */
export const softmaxFitter =
  (l2 = 0.01, maxIter = 60): Fitter =>
  async (X, y, k) => {
    const o = { l2, classWeights: classWeights(y, k), maxIter };
    const head: Head =
      process.env.RESEARCH_FIT === 'js'
        ? trainSoftmax(X, y, k, o)
        : await trainSoftmaxGemm(X, y, k, o);
    return { logits: (rows) => rows.map((r) => headLogits(head, r)) };
  };

export interface CandidateScore {
  val: { acc: number; f1: number; ece: number; T: number; recall: Record<string, number> };
  cv?: { acc: number; f1: number; foldAcc: number[]; recall: Record<string, number> };
  seconds: number;
}

async function trainAndPredict(
  trO: Float32Array[],
  trF: Float32Array[],
  y: Int32Array,
  test: Float32Array[][],
  k: number,
  fit: Fitter,
): Promise<Float32Array[][]> {
  const rows = [...trO, ...trF];
  const st = fitStandardizer(rows);
  const zs = rows.map((r) => standardize(st, r));
  const X = pack(zs);
  const h = await fit(X, Int32Array.from([...y, ...y]), k, zs);
  return test.map((t) => h.logits(t.map((r) => standardize(st, r))));
}

/**
 * Train on train (original + mirrored) → val metrics (temperature fitted on val); and grouped
 * k-fold CV on train (out-of-fold accuracy and macro-F1 over all train images).
 */
export async function scoreCandidate(
  f: Features,
  tr: PoolSplit,
  va: PoolSplit,
  fit: Fitter,
  opts: { cv?: boolean; folds?: number; tta?: boolean } = {},
): Promise<CandidateScore> {
  const t0 = performance.now();
  const k = tr.labels.length;
  // Flip-TTA: average the logits of each evaluated image and its mirror.
  const avg = (a: Float32Array[], b: Float32Array[]): Float32Array[] =>
    a.map((r, i) => r.map((v, j) => (v + b[i][j]) / 2));
  const [lv0, lvF] = await trainAndPredict(f.trO, f.trF, tr.y, [f.vaO, f.vaF], k, fit);
  const lv = opts.tta ? avg(lv0, lvF) : lv0;
  const T = fitTemperature(lv, va.y);
  const mv = computeMetrics(
    va.y,
    lv.map((l) => softmax(l, T)),
    tr.labels,
  );
  const out: CandidateScore = {
    val: { acc: mv.accuracy, f1: mv.macro_f1, ece: mv.ece, T, recall: recalls(mv) },
    seconds: 0,
  };
  if (opts.cv !== false) {
    const nf = opts.folds ?? 5;
    const fold = groupedFolds(tr.y, tr.groups, nf);
    const oof = new Array<Float32Array>(tr.y.length);
    const foldAcc: number[] = [];
    for (let q = 0; q < nf; q++) {
      const inF = [...fold.keys()].filter((i) => fold[i] !== q);
      const outF = [...fold.keys()].filter((i) => fold[i] === q);
      const [lo0, loF] = await trainAndPredict(
        inF.map((i) => f.trO[i]),
        inF.map((i) => f.trF[i]),
        Int32Array.from(inF.map((i) => tr.y[i])),
        [outF.map((i) => f.trO[i]), outF.map((i) => f.trF[i])],
        k,
        fit,
      );
      const lo = opts.tta ? avg(lo0, loF) : lo0;
      let ok = 0;
      outF.forEach((i, j) => {
        oof[i] = lo[j];
        if (argmaxF(lo[j]) === tr.y[i]) ok++;
      });
      foldAcc.push(ok / outF.length);
    }
    const mc = computeMetrics(
      tr.y,
      oof.map((l) => softmax(l, 1)),
      tr.labels,
    );
    out.cv = { acc: mc.accuracy, f1: mc.macro_f1, foldAcc, recall: recalls(mc) };
  }
  out.seconds = (performance.now() - t0) / 1000;
  return out;
}

const recalls = (m: Metrics): Record<string, number> =>
  Object.fromEntries(
    Object.entries(m.per_class).map(([l, c]) => [l, Math.round(c.recall * 1000) / 1000]),
  );

function argmaxF(a: Float32Array): number {
  let b = 0;
  for (let j = 1; j < a.length; j++) if (a[j] > a[b]) b = j;
  return b;
}

export function fmtScore(s: CandidateScore): string {
  const v = `val acc ${s.val.acc.toFixed(3)} f1 ${s.val.f1.toFixed(3)} ece ${s.val.ece.toFixed(3)}`;
  const c = s.cv ? ` | cv acc ${s.cv.acc.toFixed(3)} f1 ${s.cv.f1.toFixed(3)}` : '';
  return `${v}${c} | ${s.seconds.toFixed(0)} s`;
}

/** Non-fish rows holding exactly `taps` (see loadTaps). */
export async function loadNonfishTaps(id: string, taps: string[]): Promise<Float32Array[]> {
  const want = taps.map((t) => (t.includes(':') ? t : `${t}:avg`));
  const pieces = new Map<string, Float32Array[]>();
  for (const layout of LAYOUTS) {
    const here = want.filter((t) => layout.includes(t) && !pieces.has(t));
    if (!here.length) continue;
    let rows: Float32Array[];
    try {
      rows = await loadPooledNonfish(id, undefined, layout);
    } catch {
      continue;
    }
    for (const t of here) pieces.set(t, select(140, rows, [t], layout));
  }
  const missing = want.filter((t) => !pieces.has(t));
  if (missing.length) throw new Error(`no non-fish research cache holds ${missing.join(', ')}`);
  const n = pieces.get(want[0])!.length;
  return Array.from({ length: n }, (_, i) => concatRows(want.map((t) => pieces.get(t)![i]!)));
}
