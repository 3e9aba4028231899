// When a prediction is `unknown`, and why (openset.ts `unknownReason`), for the two gates a
// manifest can name: the shipped novelty-only gate and the older either-score gate.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { unknownRule } from '../../src/ml/artifact/manifest.ts';
import { unknownReason } from '../../src/ml/openset.ts';

const manifest = (gate?: 'novelty' | 'prototypes-or-novelty', novelty = true) => ({
  open_set: {
    method: 'max-cosine-prototypes' as const,
    feature_space: 'raw-l2' as const,
    prototypes: 10,
    per_class: 1,
    threshold: 0.8,
    val_quantile: 0.05,
    ...(gate ? { gate } : {}),
  },
  ...(novelty
    ? {
        novelty: {
          method: 'max-logit+residual' as const,
          shrinkage: 0.1,
          threshold: -2,
          known_fish_loss: 0.05,
        },
      }
    : {}),
  confidence_threshold: 0.45,
});

const fishLike = { similarity: 0.9, novelty: 0, confidence: 0.9 };

describe('unknown rule', () => {
  test('novelty gate: the novelty score rejects; the prototype similarity names the reason', () => {
    const rule = unknownRule(manifest('novelty'));
    assert.equal(unknownReason(rule, fishLike), undefined);
    assert.equal(unknownReason(rule, { ...fishLike, novelty: -3 }), 'unknown_species');
    assert.equal(unknownReason(rule, { ...fishLike, novelty: -3, similarity: 0.5 }), 'not_a_fish');
    // Unlike the prototypes but like a known species: answered (the prototypes only name reasons).
    assert.equal(unknownReason(rule, { ...fishLike, similarity: 0.5 }), undefined);
    assert.equal(unknownReason(rule, { ...fishLike, confidence: 0.3 }), 'low_confidence');
  });

  test('older models without a gate reject on either score', () => {
    const rule = unknownRule(manifest());
    assert.equal(rule.gate, 'prototypes-or-novelty');
    assert.equal(unknownReason(rule, { ...fishLike, similarity: 0.5 }), 'not_a_fish');
    assert.equal(unknownReason(rule, { ...fishLike, novelty: -3 }), 'unknown_species');
    assert.equal(unknownReason(rule, fishLike), undefined);
  });

  test('without a novelty check the prototype similarity decides', () => {
    const rule = unknownRule(manifest('prototypes-or-novelty', false));
    assert.equal(rule.novelty, undefined);
    assert.equal(unknownReason(rule, { similarity: 0.5, confidence: 0.9 }), 'out_of_distribution');
    assert.equal(unknownReason(rule, { similarity: 0.9, confidence: 0.3 }), 'low_confidence');
    assert.equal(unknownReason(rule, { similarity: 0.9, confidence: 0.9 }), undefined);
  });
});
