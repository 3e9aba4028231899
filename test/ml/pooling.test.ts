// Pooled tap variants computed in the ONNX graph (max, GeM, n x n grids) equal a plain
// TypeScript reference over the unpooled map; graphs built for a model's taps give the same
// values as the graph with every tap; the open-set grid-mean space equals average pooling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackbonePool } from '../../src/ml/backbone/session.ts';
import { parseTap, tapChannels } from '../../src/ml/backbone/specs.ts';
import { openSetFeatures, openSetSpace } from '../../src/ml/openset.ts';
import { trainSoftmaxGemm } from '../../src/ml/train/softmax-gemm.ts';
import { trainSoftmax } from '../../src/ml/train/softmax-regression.ts';
import { rng } from '../../src/ml/rng.ts';
import { TEST_STORE } from './helpers.ts';

/** Reference pooling of sample i of an NCHW map [n, c, h, h]. */
function reference(map: Float32Array, i: number, c: number, h: number, tap: string): number[] {
  const { pool } = parseTap(tap);
  const at = (ch: number, y: number, x: number): number => map[((i * c + ch) * h + y) * h + x];
  const out: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    if (pool.kind === 'grid') {
      const stride = Math.floor(h / pool.n);
      const k = h - (pool.n - 1) * stride;
      for (let qy = 0; qy < pool.n; qy++)
        for (let qx = 0; qx < pool.n; qx++) {
          let s = 0;
          for (let y = qy * stride; y < qy * stride + k; y++)
            for (let x = qx * stride; x < qx * stride + k; x++) s += at(ch, y, x);
          out.push(s / (k * k));
        }
      continue;
    }
    const vals: number[] = [];
    for (let y = 0; y < h; y++) for (let x = 0; x < h; x++) vals.push(at(ch, y, x));
    if (pool.kind === 'max') out.push(Math.max(...vals));
    else if (pool.kind === 'gem')
      out.push(
        (vals.reduce((a, v) => a + Math.max(v, 1e-6) ** pool.p, 0) / vals.length) ** (1 / pool.p),
      );
    else out.push(vals.reduce((a, v) => a + v, 0) / vals.length);
  }
  return out;
}

function input(n: number, s: number): Float32Array {
  return new Float32Array(n * s * s * 3).map((_, i) => ((i * 7919) % 255) / 255);
}

test('pooled tap variants in the graph equal the reference pooling of the raw map', async () => {
  const pool = new BackbonePool(TEST_STORE);
  try {
    // 96 input: expanded block 13 is 6x6 (grids divide it), block 16 output 3x3 (overlapping).
    const variantsOf = (b: string): string[] => [
      'avg',
      'max',
      'gem3',
      'q2',
      'q3',
      ...(b === 'b13_expand' ? ['q4'] : []),
    ];
    const bases = ['b13_expand', 'b16_out'];
    const taps = bases.flatMap((b) => [...variantsOf(b).map((v) => `${b}:${v}`), `${b}:raw`]);
    await assert.rejects(
      pool.get('mnv2-100-96-b16', ['b16_out:q4']),
      /3x3 map is smaller than 4x4/,
    );
    const s = await pool.get('mnv2-100-96-b16', taps);
    const n = 2;
    const out = await s.run(input(n, 96), n, taps);
    for (const b of bases) {
      const c = tapChannels(100, b);
      const h = Math.round(Math.sqrt(out[`${b}:raw`].length / n / c));
      for (const v of variantsOf(b)) {
        const tap = `${b}:${v}`;
        const per = tapChannels(100, tap);
        assert.equal(out[tap].length, n * per, `${tap} length`);
        for (let i = 0; i < n; i++) {
          const ref = reference(out[`${b}:raw`], i, c, h, tap);
          let worst = 0;
          ref.forEach((r, j) => {
            worst = Math.max(worst, Math.abs(r - out[tap][i * per + j]) / (Math.abs(r) + 1e-3));
          });
          assert.ok(worst < 1e-4, `${tap} (map ${h}x${h}) image ${i}: relative error ${worst}`);
        }
      }
    }
  } finally {
    await pool.close();
  }
});

test('a graph built for a model`s taps computes what the graph with every tap computes', async () => {
  const pool = new BackbonePool(TEST_STORE);
  try {
    const taps = ['b12_expand', 'b13_expand', 'b16_out'];
    const full = await pool.get('mnv2-100-96-b16');
    const only = await pool.get('mnv2-100-96-b16', taps);
    assert.notEqual(full, only);
    assert.deepEqual(only.outputs, taps);
    const x = input(3, 96);
    const a = await full.run(x, 3, taps);
    const b = await only.run(x, 3);
    for (const t of taps) {
      assert.equal(a[t].length, b[t].length);
      a[t].forEach((v, j) => assert.ok(Math.abs(v - b[t][j]) <= 1e-4 * (1 + Math.abs(v)), t));
    }
  } finally {
    await pool.close();
  }
});

test('tap names: pooling suffixes, channel counts, open-set grid-mean space', () => {
  assert.deepEqual(parseTap('b13_expand'), { base: 'b13_expand', pool: { kind: 'avg' } });
  assert.deepEqual(parseTap('b13_expand:q3'), {
    base: 'b13_expand',
    pool: { kind: 'grid', n: 3 },
  });
  assert.deepEqual(parseTap('b13_expand:gem3').pool, { kind: 'gem', p: 3 });
  assert.throws(() => parseTap('b13_expand:median'), /unknown pooling/);
  assert.equal(tapChannels(140, 'b13_expand'), 816);
  assert.equal(tapChannels(140, 'b13_expand:q3'), 816 * 9);
  assert.equal(openSetSpace(['b13_expand', 'b16_out']), 'raw-l2');
  assert.equal(openSetSpace(['b13_expand:q3', 'b16_out']), 'raw-l2-grid-mean');
  // Cell means of a 2x2 grid over a map it divides = the global average.
  const taps = ['b13_expand:q2', 'b16_out'];
  const raw = Float32Array.from({ length: 816 * 4 + 448 }, (_, i) => i % 7);
  const f = openSetFeatures(raw, taps, 140, 'raw-l2-grid-mean');
  assert.equal(f.length, 816 + 448);
  assert.equal(f[0], (0 + 1 + 2 + 3) / 4);
  assert.equal(f[816], raw[816 * 4]);
  assert.equal(openSetFeatures(raw, taps, 140, 'raw-l2'), raw);
});

test('softmax regression with onnxruntime Gemm products matches the TypeScript solver', async () => {
  const r = rng(3);
  const n = 240;
  const d = 40;
  const k = 4;
  const y = Int32Array.from({ length: n }, (_, i) => i % k);
  const X = new Float32Array(n * d).map(() => r() - 0.5);
  for (let i = 0; i < n; i++) X[i * d + y[i]] += 0.7;
  const opts = { l2: 0.01, classWeights: new Float64Array(k).fill(1) };
  const a = trainSoftmax(X, y, k, opts);
  const b = await trainSoftmaxGemm(X, y, k, opts);
  const c = await trainSoftmaxGemm(X, y, k, opts);
  assert.deepEqual(b.layers[0].weight, c.layers[0].weight, 'deterministic');
  let worst = 0;
  a.layers[0].weight.forEach(
    (v, j) => (worst = Math.max(worst, Math.abs(v - b.layers[0].weight[j]))),
  );
  assert.ok(worst < 1e-3, `max weight difference ${worst}`);
});
