import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auroc, computeMetrics, expectedCalibrationError } from '../../src/ml/evaluate/metrics.ts';
import { fitTemperature } from '../../src/ml/train/calibrate.ts';

const labels = ['a', 'b', 'c'];

test('accuracy, per-class, macro-F1, confusion and coverage on a hand-checked case', () => {
  // truth: a a b b c c ; predicted: a b b b c a
  const truth = [0, 0, 1, 1, 2, 2];
  const probs = [
    [0.9, 0.05, 0.05],
    [0.3, 0.6, 0.1],
    [0.1, 0.8, 0.1],
    [0.2, 0.75, 0.05],
    [0.05, 0.05, 0.9],
    [0.55, 0.2, 0.25],
  ];
  const m = computeMetrics(truth, probs, labels);
  assert.equal(m.accuracy, 4 / 6);
  assert.deepEqual(m.confusion_matrix, [
    [1, 1, 0],
    [0, 2, 0],
    [1, 0, 1],
  ]);
  assert.deepEqual(m.per_class.a, { precision: 0.5, recall: 0.5, f1: 0.5, support: 2 });
  assert.equal(m.per_class.b.precision, 2 / 3);
  assert.equal(m.per_class.b.recall, 1);
  assert.ok(Math.abs(m.per_class.b.f1 - 0.8) < 1e-12);
  assert.equal(m.per_class.c.f1, 2 / 3);
  assert.ok(Math.abs(m.macro_f1 - (0.5 + 0.8 + 2 / 3) / 3) < 1e-12);
  const c7 = m.coverage.find((c) => c.threshold === 0.7)!;
  assert.equal(c7.coverage, 4 / 6);
  assert.equal(c7.accuracy, 1);
  const c9 = m.coverage.find((c) => c.threshold === 0.9)!;
  assert.equal(c9.coverage, 2 / 6);
});

test('a class unknown to the model counts as a miss', () => {
  const m = computeMetrics(
    [0, -1],
    [
      [0.9, 0.05, 0.05],
      [0.9, 0.05, 0.05],
    ],
    labels,
  );
  assert.equal(m.accuracy, 0.5);
  assert.equal(m.confusion_matrix.length, 4);
  assert.deepEqual(m.confusion_matrix[3], [1, 0, 0]);
  assert.equal(m.per_class.a.precision, 0.5);
});

test('ECE: perfectly calibrated bins give 0, overconfident ones their gap', () => {
  assert.equal(expectedCalibrationError([0.5, 0.5], [true, false]), 0);
  // Four predictions at 0.95 confidence, half right: gap 0.45.
  assert.ok(
    Math.abs(
      expectedCalibrationError([0.95, 0.95, 0.95, 0.95], [true, false, true, false]) - 0.45,
    ) < 1e-12,
  );
});

test('AUROC: separable, reversed, tied', () => {
  assert.equal(auroc([0.9, 0.8], [0.1, 0.2]), 1);
  assert.equal(auroc([0.1], [0.9]), 0);
  assert.equal(auroc([0.5], [0.5]), 0.5);
});

test('temperature scaling softens over-confident logits', () => {
  // Logits say 99.99 % but the answer is right 75 % of the time → T > 1.
  const logits = [0, 1, 2, 3].map(() => Float32Array.from([10, 0]));
  const T = fitTemperature(logits, [0, 0, 0, 1]);
  assert.ok(T > 3, `T = ${T}`);
});
