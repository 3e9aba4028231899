// Shared helpers of the research scripts: load cached research embeddings, slice taps, fit and
// score heads on fish-species train → val.
import { join, resolve } from 'node:path';
import type { BackboneSession } from '../src/ml/backbone/session.ts';
import { parseBackboneId, tapChannels } from '../src/ml/backbone/specs.ts';
import { listImageFolder } from '../src/ml/data/dataset.ts';
import { embedItems } from '../src/ml/embed/embedder.ts';
import { computeMetrics } from '../src/ml/evaluate/metrics.ts';
import { DEFAULT_PREPROCESS } from '../src/ml/preprocess.ts';
import { fitTemperature } from '../src/ml/train/calibrate.ts';
import { headLogits, softmax } from '../src/ml/head/head.ts';
import type { Head } from '../src/ml/head/head.ts';
import { fitStandardizer, pack, standardize } from '../src/ml/head/standardize.ts';

export const RESEARCH_TAPS = [
  'b10_out',
  'b11_expand',
  'b11_out',
  'b12_expand',
  'b12_out',
  'b13_expand',
  'b13_out',
  'b14_expand',
  'b14_out',
  'b15_expand',
  'b15_out',
  'b16_expand',
  'b16_out',
  'embedding',
];

export interface Split {
  labels: string[];
  y: Int32Array;
  orig: Float32Array[];
  flip: Float32Array[];
}

const DATA = resolve(process.env.AQUAML_DATASETS_DIR ?? '../shared/data', 'fish-species');

export async function loadSplit(id: string, split: 'train' | 'val'): Promise<Split> {
  const spec = parseBackboneId(id);
  const folder = await listImageFolder(join(DATA, split));
  const e = await embedItems(folder.items, {
    session: { spec } as BackboneSession,
    spec: { ...DEFAULT_PREPROCESS, kernel: 'lanczos3', size: spec.inputSize },
    taps: RESEARCH_TAPS,
    flip: true,
    cacheDir: resolve('data/research-cache'),
  });
  if (e.computed) throw new Error('run research/embed.ts first');
  const y = Int32Array.from(folder.items.map((i) => folder.labels.indexOf(i.label)));
  return { labels: folder.labels, y, orig: e.original, flip: e.flipped! };
}

export function sliceTaps(width: 100 | 140, rows: Float32Array[], taps: string[]): Float32Array[] {
  const offsets = new Map<string, [number, number]>();
  let o = 0;
  for (const t of RESEARCH_TAPS) {
    const c = tapChannels(width, t);
    offsets.set(t, [o, c]);
    o += c;
  }
  return rows.map((r) => {
    const parts = taps.map((t) =>
      r.subarray(offsets.get(t)![0], offsets.get(t)![0] + offsets.get(t)![1]),
    );
    return concatRows(parts);
  });
}

/** The arrays one after another in one new array. */
export function concatRows(parts: readonly Float32Array[]): Float32Array {
  const v = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let q = 0;
  for (const p of parts) {
    v.set(p, q);
    q += p.length;
  }
  return v;
}

export function classWeights(y: Int32Array, k: number): Float64Array {
  const cnt = new Float64Array(k);
  for (const c of y) cnt[c]++;
  return Float64Array.from(cnt, (c) => (c ? y.length / (k * c) : 0));
}

export interface Scored {
  acc: number;
  f1: number;
  ece: number;
  T: number;
}

/** Val metrics of a head, optionally averaging the logits of the mirrored image (flip-TTA). */
export function score(
  head: Head,
  valOrig: Float32Array[],
  valFlip: Float32Array[] | undefined,
  y: Int32Array,
  labels: string[],
): Scored {
  const logits = valOrig.map((x, i) => {
    const a = headLogits(head, x);
    if (!valFlip) return a;
    const b = headLogits(head, valFlip[i]);
    return a.map((v, j) => (v + b[j]) / 2);
  });
  const T = fitTemperature(logits, y);
  const m = computeMetrics(
    y,
    logits.map((l) => softmax(l, T)),
    labels,
  );
  return { acc: m.accuracy, f1: m.macro_f1, ece: m.ece, T };
}

export function prepare(
  width: 100 | 140,
  tr: Split,
  va: Split,
  taps: string[],
  flipTrain: boolean,
) {
  const trO = sliceTaps(width, tr.orig, taps);
  const trF = sliceTaps(width, tr.flip, taps);
  const rows = flipTrain ? [...trO, ...trF] : trO;
  const st = fitStandardizer(rows);
  const X = pack(rows.map((r) => standardize(st, r)));
  const y = flipTrain ? Int32Array.from([...tr.y, ...tr.y]) : tr.y;
  const vO = sliceTaps(width, va.orig, taps).map((r) => standardize(st, r));
  const vF = sliceTaps(width, va.flip, taps).map((r) => standardize(st, r));
  return { X, y, vO, vF, dim: X.length / y.length };
}
