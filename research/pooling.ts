// Pooling research, step 2: one line per candidate feature set (pooling × input size(s) ×
// normalisation), softmax head at a fixed λ; val metrics (train → val) and grouped 5-fold CV on
// train (group = F4K clip). Appends JSON lines to <out.jsonl>.
// Usage: node bin/run-ts.js research/pooling.ts <out.jsonl> <group | candidate...> [--l2 0.01] [--no-cv] [--tta]
// `--tta`: flip-TTA (logits of each evaluated image and its mirror averaged), in val and CV.
// Candidate syntax: `<tap>+<tap>...@<size>[&<taps>@<size>...][~<transform>]`, taps with a pooling
// suffix (`b13_expand:gem3`, see src/ml/backbone/specs.ts); transforms: `ssqrt` (signed square
// root of every value), `l2tap` (each tap's block scaled to unit L2 norm), `ssqrt,l2tap`.
import { appendFileSync } from 'node:fs';
import { tapChannels } from '../src/ml/backbone/specs.ts';
import { loadTaps, scoreCandidate, select, softmaxFitter, fmtScore } from './pool-lib.ts';
import type { Features, PoolSplit } from './pool-lib.ts';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const l2 = Number(opt('--l2') ?? '0.01');
const dataset = opt('--dataset') ?? 'fish-species';
const noCv = args.includes('--no-cv');
const tta = args.includes('--tta');
const [out, ...rest] = args.filter((a) => a !== '--no-cv' && a !== '--tta');

const T3 = 'b12_expand+b13_expand+b16_out';
const Q2 = 'b12_expand:q2+b13_expand:q2+b16_out';
const Q3 = 'b12_expand:q3+b13_expand:q3+b16_out';
const H8 = 'b11_expand+b12_expand+b13_expand+b14_expand+b15_expand+b16_expand+b16_out+embedding';
const at = (taps: string, size: number): string => `${taps}@${size}`;
const GROUPS: Record<string, string[]> = {
  pool: [
    at(T3, 160),
    at('b12_expand:max+b13_expand:max+b16_out:max', 160),
    at('b12_expand+b12_expand:max+b13_expand+b13_expand:max+b16_out+b16_out:max', 160),
    at('b12_expand+b12_expand:max+b13_expand+b13_expand:max+b16_out', 160),
    at('b12_expand:gem2+b13_expand:gem2+b16_out', 160),
    at('b12_expand:gem3+b13_expand:gem3+b16_out', 160),
    at('b12_expand:gem4+b13_expand:gem4+b16_out', 160),
    at('b12_expand:gem3+b13_expand:gem3+b16_out:gem3', 160),
    at('b12_expand:q2+b13_expand:q2+b16_out', 160),
    at('b12_expand+b12_expand:q2+b13_expand+b13_expand:q2+b16_out', 160),
    at('b12_expand:gem3+b12_expand:q2+b13_expand:gem3+b13_expand:q2+b16_out', 160),
  ],
  // The 2x2 grid at other sizes and on other taps (run at several --l2).
  q2: [
    at(Q2, 160),
    at(Q2, 128),
    at(Q2, 224),
    at('b12_expand:q2+b13_expand:q2+b16_out:q2', 160),
    at('b12_expand+b13_expand:q2+b16_out', 160),
    at('b12_expand:q2+b13_expand+b16_out', 160),
  ],
  // Finer grids and neighbouring blocks (needs the --extra cache at 160).
  grid: [
    at('b12_expand:q3+b13_expand:q3+b16_out', 160),
    at('b12_expand:q2+b12_expand:q3+b13_expand:q2+b13_expand:q3+b16_out', 160),
    at('b12_expand:q2+b13_expand:q2+b16_out:q3', 160),
    at('b12_expand:q2+b13_expand:q3+b16_out', 160),
    at(`b11_expand:q2+${Q2}`, 160),
    at('b12_expand:q2+b13_expand:q2+b14_expand:q2+b16_out', 160),
    at('b12_expand:q2+b13_expand:q2+b16_expand:q2+b16_out', 160),
    at('b12_expand:q2+b13_expand:q2+b16_expand+b16_out', 160),
  ],
  // 4x4 / 5x5 grids (--grid cache) and variations around the 3x3 grid.
  grid2: [
    at('b12_expand:q4+b13_expand:q4+b16_out', 160),
    at('b12_expand:q5+b13_expand:q5+b16_out', 160),
    at('b12_expand:q3+b13_expand:q3', 160),
    at('b13_expand:q3+b16_out', 160),
    `${at(Q3, 160)}~ssqrt`,
    at('b12_expand:q3+b13_expand:q3+b14_expand:q2+b16_out', 160),
    at('b12_expand:q3+b13_expand:q3+b16_out+b16_out:max', 160),
  ],
  // Multi-resolution with the 3x3 grid (same graph at two input sizes, features concatenated).
  multires3: [
    `${at(Q3, 128)}&${at(Q3, 160)}`,
    `${at(Q3, 96)}&${at(Q3, 128)}`,
    `${at(T3, 96)}&${at(Q3, 128)}`,
    at(Q3, 96),
    at('b12_expand:q4+b13_expand:q4+b16_out', 128),
  ],
  // Around the 3x3 grid at 128.
  q3at128: [
    `${at(Q3, 128)}~ssqrt`,
    `${at(Q3, 128)}~l2tap`,
    at('b12_expand:q3+b13_expand:q3+b16_out:q2', 128),
    at('b12_expand:q3+b13_expand:q3+b14_expand:q2+b16_out', 128),
    at('b11_expand:q2+b12_expand:q3+b13_expand:q3+b16_out', 128),
    at('b12_expand:q3+b13_expand:q3+b16_expand+b16_out', 128),
  ],
  // fish-health (run with --dataset fish-health; HEALTH_TAPS cache at 224).
  health: [
    at('b13_expand+b16_out+embedding', 224),
    at('embedding', 224),
    at('b12_expand+b13_expand+b16_out', 224),
    at('b12_expand+b13_expand+b16_out+embedding', 224),
    at('b13_expand+b14_expand+b15_expand+b16_expand+b16_out+embedding', 224),
    at('b11_expand+b12_expand+b13_expand+b14_expand+b15_expand+b16_expand+b16_out+embedding', 224),
    at('b13_expand:q2+b16_out+embedding', 224),
    at('b13_expand:q2+b16_out:q2+embedding:q2', 224),
    at('b13_expand+b16_out+embedding+embedding:max', 224),
    at('b13_expand:max+b16_out:max+embedding:max', 224),
    `${at('b13_expand+b16_out+embedding', 224)}~ssqrt`,
    `${at('b13_expand+b16_out+embedding', 224)}~l2tap`,
  ],
  health2: [
    `${at(H8, 224)}~l2tap`,
    `${at(H8, 224)}~ssqrt`,
    at('b11_expand+b12_expand+b13_expand+b14_expand+b15_expand+b16_expand+embedding', 224),
    at('b12_expand+b13_expand+b14_expand+b15_expand+b16_expand+b16_out+embedding', 224),
    at('b11_expand+b12_expand+b13_expand+b14_expand+b15_expand+b16_expand+b16_out', 224),
  ],
  norm: [
    `${at(T3, 160)}~ssqrt`,
    `${at(T3, 160)}~l2tap`,
    `${at(Q2, 160)}~ssqrt`,
    `${at(Q2, 160)}~l2tap`,
    `${at(Q2, 160)}~ssqrt,l2tap`,
  ],
  multires: [
    `${at(T3, 128)}&${at(T3, 160)}`,
    `${at(Q2, 128)}&${at(Q2, 160)}`,
    `${at(Q2, 128)}&${at(T3, 160)}`,
    `${at(T3, 128)}&${at(Q2, 160)}`,
  ],
};

function parseCandidate(c: string): {
  parts: { taps: string[]; size: number }[];
  transforms: string[];
} {
  const [body, tr] = c.split('~');
  return {
    parts: body.split('&').map((p) => {
      const [taps, size] = p.split('@');
      return { taps: taps.split('+'), size: Number(size) };
    }),
    transforms: tr ? tr.split(',') : [],
  };
}

async function splits(size: number, taps: string[]): Promise<[PoolSplit, PoolSplit]> {
  const id = `mnv2-140-${size}-b${process.env.RESEARCH_LAST_BLOCK ?? 16}`;
  return [await loadTaps(id, dataset, 'train', taps), await loadTaps(id, dataset, 'val', taps)];
}

function transform(rows: Float32Array[], taps: string[], transforms: string[]): Float32Array[] {
  if (!transforms.length) return rows;
  const dims = taps.map((t) => tapChannels(140, t));
  return rows.map((r) => {
    const v = Float32Array.from(r);
    if (transforms.includes('ssqrt'))
      for (let j = 0; j < v.length; j++) v[j] = Math.sign(v[j]) * Math.sqrt(Math.abs(v[j]));
    if (transforms.includes('l2tap')) {
      let o = 0;
      for (const d of dims) {
        let s = 0;
        for (let j = o; j < o + d; j++) s += v[j] * v[j];
        const inv = 1 / Math.sqrt(s || 1);
        for (let j = o; j < o + d; j++) v[j] *= inv;
        o += d;
      }
    }
    return v;
  });
}

function concat(blocks: Float32Array[][]): Float32Array[] {
  return blocks[0].map((_, i) => {
    const v = new Float32Array(blocks.reduce((a, b) => a + b[i].length, 0));
    let o = 0;
    for (const b of blocks) {
      v.set(b[i], o);
      o += b[i].length;
    }
    return v;
  });
}

const cands = rest.flatMap((r) => GROUPS[r] ?? [r]);
for (const c of cands) {
  const { parts, transforms } = parseCandidate(c);
  const blocks: Record<keyof Features, Float32Array[][]> = { trO: [], trF: [], vaO: [], vaF: [] };
  let base: [PoolSplit, PoolSplit] | undefined;
  for (const p of parts) {
    const [tr, va] = await splits(p.size, p.taps);
    base ??= [tr, va];
    const f = (rows: Float32Array[]): Float32Array[] =>
      transform(select(140, rows, p.taps, tr.layout), p.taps, transforms);
    blocks.trO.push(f(tr.orig));
    blocks.trF.push(f(tr.flip));
    blocks.vaO.push(f(va.orig));
    blocks.vaF.push(f(va.flip));
  }
  const feats: Features = {
    trO: concat(blocks.trO),
    trF: concat(blocks.trF),
    vaO: concat(blocks.vaO),
    vaF: concat(blocks.vaF),
  };
  const s = await scoreCandidate(feats, base![0], base![1], softmaxFitter(l2), {
    cv: !noCv,
    tta,
  });
  const row = { candidate: c, dataset, dim: feats.trO[0].length, l2, tta, ...s };
  if (out !== '-') appendFileSync(out, `${JSON.stringify(row)}\n`);
  console.log(`${c} d=${row.dim} l2=${l2}${tta ? ' flip-TTA' : ''}: ${fmtScore(s)}`);
}
