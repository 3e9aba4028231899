// Backbone ids name a converted graph: `mnv2-<width>-<input size>[-b<last block>]`, e.g.
// `mnv2-140-160-b16` = MobileNetV2 1.4 at 160x160 input, truncated after block 16.
// Every pooled tap (`b<i>_expand`, `b<i>_dw`, `b<i>_out`, and `embedding` when not truncated)
// is a graph output, so heads pick any subset without a new graph.

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

/** Channel count of a tap, so heads can be laid out without running the graph. */
export function tapChannels(width: 100 | 140, tap: string): number {
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
