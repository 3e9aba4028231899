// With several intra-op threads, batches below WIDE_BATCH run on a one-thread twin of the
// session: an image must get the same features whichever of the two runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureBackbone } from '../../src/ml/backbone/build.ts';
import { BackboneSession, WIDE_BATCH } from '../../src/ml/backbone/session.ts';
import { preprocess } from '../../src/ml/preprocess.ts';
import { TEST_STORE, syntheticImage } from './helpers.ts';

test('an image gets the same features alone (one thread) and in a wide batch (all threads)', async () => {
  const id = 'mnv2-100-96-b16';
  const taps = ['b13_expand', 'b16_out'];
  const s = await BackboneSession.create(
    await ensureBackbone(TEST_STORE, id, taps),
    id,
    { intraOpThreads: 2 },
    taps,
  );
  try {
    const spec = { size: 96, fit: 'stretch', kernel: 'lanczos3', scale: '0..1' } as const;
    const px = 96 * 96 * 3;
    const batch = new Float32Array(WIDE_BATCH * px);
    for (let i = 0; i < WIDE_BATCH; i++)
      batch.set(await preprocess(await syntheticImage(i + 1), spec), i * px);
    const wide = await s.run(batch, WIDE_BATCH);
    const alone = await s.run(batch.slice(0, px), 1);
    for (const t of taps) {
      const d = alone[t]!.length;
      const w = wide[t]!.subarray(0, d);
      let max = 0;
      for (let j = 0; j < d; j++) max = Math.max(max, Math.abs(w[j]! - alone[t]![j]!));
      assert.ok(max < 1e-4, `${t}: max difference ${max}`);
    }
  } finally {
    await s.release();
  }
});
