import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MatMulABt } from '../../src/ml/gemm.ts';
import {
  combineNovelty,
  fitGaussianNovelty,
  fitNoveltyModel,
  gaussianScores,
  inverseCholesky,
  noveltyPartScores,
  packNoveltyTensors,
  unpackNoveltyTensors,
} from '../../src/ml/novelty.ts';
import { fitPrincipalSubspace, residualScores } from '../../src/ml/subspace.ts';
import { formatLocoTable, locoTable } from '../../src/ml/evaluate/leave-one-class-out.ts';
import { gaussian, rng } from '../../src/ml/rng.ts';

test('inverseCholesky: L⁻¹ Σ L⁻ᵀ is the identity', () => {
  const d = 6;
  const rand = rng(3);
  const a = Array.from({ length: d * d }, () => gaussian(rand));
  const s = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) {
      let v = i === j ? 0.5 : 0;
      for (let k = 0; k < d; k++) v += a[i * d + k] * a[j * d + k];
      s[i * d + j] = v;
    }
  const w = inverseCholesky(Float64Array.from(s), d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) {
      let v = 0;
      for (let p = 0; p < d; p++)
        for (let q = 0; q < d; q++) v += w[i * d + p] * s[p * d + q] * w[j * d + q];
      assert.ok(Math.abs(v - (i === j ? 1 : 0)) < 1e-4, `(${i},${j}) = ${v}`);
    }
});

test('Mahalanobis: a point at a class mean scores 0, distance grows with the spread-scaled offset', async () => {
  // Two classes on a line in 2-d, spread 1 along x and 0.1 along y: moving 0.5 along y is far
  // (25 in squared whitened units), the same step along x is near.
  const rand = rng(7);
  const rows: Float32Array[] = [];
  const y: number[] = [];
  for (let i = 0; i < 4000; i++) {
    const c = i % 2;
    rows.push(Float32Array.from([c * 10 + gaussian(rand), 0.1 * gaussian(rand)]));
    y.push(c);
  }
  const mm = await MatMulABt.create();
  try {
    const g = await fitGaussianNovelty(rows, Int32Array.from(y), 2, { shrinkage: 0 }, mm);
    const [atMean, alongX, alongY] = await gaussianScores(
      g,
      [Float32Array.from([10, 0]), Float32Array.from([10.5, 0]), Float32Array.from([10, 0.5])],
      mm,
    );
    assert.ok(Math.abs(atMean) < 0.02, `at mean ${atMean}`);
    assert.ok(Math.abs(alongX + 0.25) < 0.03, `along x ${alongX}`);
    assert.ok(Math.abs(alongY + 25) < 1.5, `along y ${alongY}`);
  } finally {
    await mm.release();
  }
});

test('principal subspace: the residual is the distance off the plane the training rows span', async () => {
  // Rows spread 3 and 2 along the first two axes of 5-d space and 0.01 along the others: the
  // rank-2 subspace is the (x0, x1) plane, so a point's residual is its norm off that plane.
  const rand = rng(11);
  const rows = Array.from({ length: 3000 }, () =>
    Float32Array.from([
      1 + 3 * gaussian(rand),
      2 * gaussian(rand),
      0.01 * gaussian(rand),
      0.01 * gaussian(rand),
      0.01 * gaussian(rand),
    ]),
  );
  const mm = await MatMulABt.create();
  try {
    const s = await fitPrincipalSubspace(rows, 2, mm);
    const [inPlane, off] = await residualScores(
      s,
      [Float32Array.from([7, -4, 0, 0, 0]), Float32Array.from([1, 0, 0, 3, 4])],
      mm,
    );
    assert.ok(Math.abs(inPlane) < 0.05, `in the plane ${inPlane}`);
    assert.ok(Math.abs(off + 5) < 0.05, `off the plane ${off}`);
  } finally {
    await mm.release();
  }
});

test('principal subspace: fewer rows than the rank cap it at what they span', async () => {
  const rand = rng(2);
  const rows = Array.from({ length: 5 }, () =>
    Float32Array.from({ length: 12 }, () => gaussian(rand)),
  );
  const mm = await MatMulABt.create();
  try {
    const s = await fitPrincipalSubspace(rows, 8, mm);
    assert.equal(s.rank, 4);
    // Every training row lies in mean + span(basis): no residual.
    for (const r of await residualScores(s, rows, mm)) assert.ok(Math.abs(r) < 1e-3, `${r}`);
  } finally {
    await mm.release();
  }
});

test('novelty model: max-logit + residual survives packing, and its parts are z-summed', async () => {
  const rand = rng(5);
  const rows = Array.from({ length: 400 }, () =>
    Float32Array.from({ length: 6 }, (_, j) => (j < 3 ? 1 : 0.05) * gaussian(rand)),
  );
  const y = Int32Array.from(rows, (_, i) => i % 2);
  const settings = {
    method: 'max-logit+residual' as const,
    shrinkage: 0.3,
    rank: 3,
    knownFishLoss: 0.05,
  };
  const mm = await MatMulABt.create();
  try {
    const m = await fitNoveltyModel(rows, y, 2, settings, mm);
    assert.equal(m.gaussian, undefined, 'no Gaussians without a Mahalanobis part');
    const { values, tensors } = packNoveltyTensors(m);
    const back = unpackNoveltyTensors(settings.method, values, tensors);
    const q = [Float32Array.from([0, 0, 0, 1, 0, 0]), Float32Array.from([1, 1, 1, 0, 0, 0])];
    const a = await noveltyPartScores(m, q, [2, 4], mm);
    const b = await noveltyPartScores(back, q, [2, 4], mm);
    assert.deepEqual(a, b);
    assert.deepEqual(a.max_logit, [2, 4]);
    const scales = { max_logit: { median: 3, iqr: 2 }, residual: { median: -0.5, iqr: 0.5 } };
    const [far, near] = combineNovelty(settings.method, a, scales);
    // (2 − 3)/2 + (r + 0.5)/0.5 with r ≈ −1 off the subspace; r ≈ 0 in it.
    assert.ok(Math.abs(far - (-0.5 + (a.residual![0] + 0.5) / 0.5)) < 1e-9);
    assert.ok(near > far, `in-subspace ${near} above off-subspace ${far}`);
  } finally {
    await mm.release();
  }
});

test('leave-one-class-out table: rejection at the known-fish quantile and AUROC per fold', () => {
  const known = Array.from({ length: 100 }, (_, i) => i); // 0..99
  const t = locoTable([
    { label: 'a', known, unknown: [-5, 1, 3, 50] },
    { label: 'b', known, unknown: [200, 300] },
  ]);
  // 2 % of known rejected: threshold 2 → -5 and 1 below it; 5 %: 5 → 3 of 4; 10 %: 10 → 3 of 4.
  assert.deepEqual(t.rows[0].rejected, [0.5, 0.75, 0.75]);
  assert.deepEqual(t.rows[1].rejected, [0, 0, 0]);
  assert.equal(t.rows[1].auroc, 0);
  assert.deepEqual(t.mean.rejected, [0.25, 0.375, 0.375]);
  assert.match(formatLocoTable(t), /\| \*\*mean over folds\*\* \| 3 \| \*\*25\.0 %\*\*/);
});
