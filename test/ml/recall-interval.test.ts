// Per-class recall intervals: a bootstrap over clips, so near-copy frames of one clip do not
// pass for independent evidence.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recallIntervals } from '../../src/ml/evaluate/recall-interval.ts';
import { recallIntervalText } from '../../src/ml/artifact/card.ts';

// Class 0: four clips of 10 frames, recognised in 10, 8, 2 and 0 of them (recall 0.5).
// Class 1: one clip of 30 frames, 27 recognised. Class 2: no images.
const truth: number[] = [];
const predicted: number[] = [];
const groups: string[] = [];
[10, 8, 2, 0].forEach((hits, clip) => {
  for (let f = 0; f < 10; f++) {
    truth.push(0);
    predicted.push(f < hits ? 0 : 1);
    groups.push(`a/clip-${clip}`);
  }
});
for (let f = 0; f < 30; f++) {
  truth.push(1);
  predicted.push(f < 27 ? 1 : 0);
  groups.push('b/clip-0');
}

test('recall intervals come from resampled clips, deterministically', () => {
  const ci = recallIntervals(truth, predicted, groups, ['a', 'b', 'c']);
  const a = ci.a!;
  assert.equal(a.clips, 4);
  // Four clips that disagree this much leave the recall wide open, far wider than 40 images
  // treated as independent would (Wilson: about 0.35-0.65).
  assert.ok(a.low <= 0.2 && a.high >= 0.8, `a: ${a.low}-${a.high}`);
  assert.ok(a.low < 0.5 && a.high > 0.5);
  // One clip: nothing to resample; the interval collapses, and the text says there is none.
  assert.deepEqual(ci.b, { low: 0.9, high: 0.9, clips: 1 });
  assert.equal(recallIntervalText(ci.b!.low, ci.b!.high, ci.b!.clips), '1 clip: no interval');
  assert.equal(ci.c, undefined, 'a class without images has no interval');
  assert.deepEqual(recallIntervals(truth, predicted, groups, ['a', 'b', 'c']), ci);
  assert.match(recallIntervalText(a.low, a.high, a.clips), /^0\.\d{3}-\d\.\d{3} \(4 clips\)$/);
});
