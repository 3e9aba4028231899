// Backbone ids name a converted graph: `mnv2-<width>-<input size>[-b<last block>]`, e.g.
// `mnv2-140-160-b16` = MobileNetV2 1.4 at 160x160 input, truncated after block 16.
// Every pooled tap (`b<i>_expand`, `b<i>_dw`, `b<i>_out`, and `embedding` when not truncated)
// is a graph output, so heads pick any subset without a new graph.
//
// A tap name may carry a pooling suffix: `b13_expand` is global average pooling (as before),
// `b13_expand:max` global max, `b13_expand:gem3` generalised mean with p = 3 (inputs clamped at
// 1e-6), `b13_expand:q2` the averages of a 2x2 grid of regions (4 x C values, channel-major;
// `q3`-`q5`: 3x3 to 5x5; regions overlap by a row/column when the map does not divide evenly),
// `b13_expand:raw` the unpooled [C, H, W] map (research only). Pooled variants exist only in
// graphs built for an explicit tap list (`ensureBackbone(store, id, taps)`), which also drop every
// output (and pooling node) a model does not use.

export interface BackboneSpec {
  id: string;
  width: 100 | 140;
  inputSize: number;
  lastBlock: number;
  taps: string[];
}

const ID = /^mnv2-(100|140)-(\d{2,3})(?:-b(\d{1,2}))?$/;

export function parseBackboneId(id: string): BackboneSpec {
  const m = ID.exec(id);
  if (!m)
    throw new Error(`invalid backbone id "${id}" (expected mnv2-<100|140>-<size>[-b<block>])`);
  const inputSize = Number(m[2]);
  if (inputSize < 32 || inputSize > 448 || inputSize % 32 !== 0)
    throw new Error(`backbone input size must be a multiple of 32 in [32, 448], got ${inputSize}`);
  const lastBlock = m[3] === undefined ? 17 : Number(m[3]);
  if (lastBlock < 1 || lastBlock > 17)
    throw new Error(`last block must be 1..17, got ${lastBlock}`);
  const taps: string[] = ['b0_out'];
  for (let b = 1; b <= Math.min(lastBlock, 16); b++)
    taps.push(`b${b}_expand`, `b${b}_dw`, `b${b}_out`);
  if (lastBlock === 17) taps.push('embedding');
  return { id, width: Number(m[1]) as 100 | 140, inputSize, lastBlock, taps };
}

export type TapPool =
  | { kind: 'avg' }
  | { kind: 'max' }
  | { kind: 'gem'; p: number }
  | { kind: 'grid'; n: number }
  | { kind: 'raw' };

const POOL = /^(?:(avg)|(max)|gem(\d)|q([2-5])|(raw))$/;

/** `b13_expand:gem3` → base tap `b13_expand`, GeM pooling with p = 3. */
export function parseTap(tap: string): { base: string; pool: TapPool } {
  const i = tap.indexOf(':');
  if (i < 0) return { base: tap, pool: { kind: 'avg' } };
  const base = tap.slice(0, i);
  const m = POOL.exec(tap.slice(i + 1));
  if (!m) throw new Error(`unknown pooling in tap ${tap} (avg, max, gem<p>, q2-q5, raw)`);
  if (m[1]) return { base, pool: { kind: 'avg' } };
  if (m[2]) return { base, pool: { kind: 'max' } };
  if (m[3]) {
    const p = Number(m[3]);
    if (p < 1) throw new Error(`GeM exponent must be >= 1 in ${tap}`);
    return { base, pool: { kind: 'gem', p } };
  }
  if (m[4]) return { base, pool: { kind: 'grid', n: Number(m[4]) } };
  return { base, pool: { kind: 'raw' } };
}

/** Whether a backbone exposes a tap (with any pooling suffix). */
export function hasTap(spec: BackboneSpec, tap: string): boolean {
  try {
    return spec.taps.includes(parseTap(tap).base);
  } catch {
    return false;
  }
}

/** Values per image of a tap (channels, x4 for the 2x2 grid), so heads can be laid out without running the graph. */
export function tapChannels(width: 100 | 140, tap: string): number {
  const { base, pool } = parseTap(tap);
  if (pool.kind === 'raw') throw new Error(`raw tap ${tap} has no fixed length`);
  return baseChannels(width, base) * (pool.kind === 'grid' ? pool.n * pool.n : 1);
}

function baseChannels(width: 100 | 140, tap: string): number {
  if (tap === 'embedding') return width === 140 ? 1792 : 1280;
  const out = [16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160, 320];
  const m = /^b(\d+)_(expand|dw|out)$/.exec(tap);
  if (!m) throw new Error(`unknown tap ${tap}`);
  const b = Number(m[1]);
  const scale = (c: number): number => makeDivisible(c * (width / 100));
  if (m[2] === 'out') return scale(out[b]);
  const inC = b === 0 ? makeDivisible(32 * (width / 100)) : scale(out[b - 1]);
  return b === 0 ? inC : inC * 6;
}

function makeDivisible(v: number, d = 8): number {
  const n = Math.max(d, Math.floor(v + d / 2) - (Math.floor(v + d / 2) % d));
  return n < 0.9 * v ? n + d : n;
}
