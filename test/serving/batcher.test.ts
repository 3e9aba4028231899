// The dynamic batcher's waiting rule, deterministically: an idle engine holds a request for
// company only while other requests are announced, and never longer than max_queue_delay_ms.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Prediction } from '../../src/ml/classifier.ts';
import { DynamicBatcher } from '../../src/serving/batcher.ts';

function recordingBatcher(maxQueueDelayMs: number) {
  const batches: number[][] = [];
  const batcher = new DynamicBatcher(
    { maxBatchSize: 8, maxQueueDelayMs, maxQueueSize: 64 },
    async (inputs) => {
      batches.push(inputs.map((x) => x[0]!));
      const predictions = inputs.map(
        (x) =>
          ({
            label: String(x[0]),
            confidence: 1,
            status: 'ok',
            top_k: [],
            ood_score: 1,
            embedding: { norm: 1, mean: 0 },
          }) satisfies Prediction,
      );
      return { predictions, runMs: 0 };
    },
  );
  return { batcher, batches };
}

const input = (n: number) => Uint8Array.of(n);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('dynamic batcher', () => {
  test('a lone request runs at once', async () => {
    const { batcher, batches } = recordingBatcher(200);
    const r = await batcher.submit(input(1));
    assert.ok(r.queueMs < 20, `queued ${r.queueMs} ms`);
    assert.deepEqual(batches, [[1]]);
  });

  test('a request waits for an announced one, at most max_queue_delay_ms', async () => {
    const { batcher, batches } = recordingBatcher(60);
    const coming = batcher.announce(); // never arrives in time
    const r = await batcher.submit(input(1), batcher.announce());
    assert.equal(r.batchSize, 1);
    assert.ok(r.queueMs >= 54 && r.queueMs < 160, `queued ${r.queueMs} ms`);
    coming.withdraw();
    assert.deepEqual(batches, [[1]]);
  });

  test('an announced request that arrives within the delay joins the batch', async () => {
    const { batcher, batches } = recordingBatcher(500);
    const second = batcher.announce();
    const first = batcher.submit(input(1), batcher.announce());
    await sleep(20);
    const [a, b] = await Promise.all([first, batcher.submit(input(2), second)]);
    assert.deepEqual(batches, [[1, 2]]);
    assert.equal(a.batchSize, 2);
    assert.ok(
      a.queueMs < 400,
      `the batch left when the last announced request came (${a.queueMs} ms)`,
    );
    assert.ok(b.queueMs < 20);
  });

  test('a withdrawn announcement releases the waiting request at once', async () => {
    const { batcher, batches } = recordingBatcher(1000);
    const failing = batcher.announce();
    const first = batcher.submit(input(1), batcher.announce());
    await sleep(20);
    failing.withdraw(); // e.g. its image could not be decoded
    const r = await first;
    assert.ok(r.queueMs < 500, `queued ${r.queueMs} ms`);
    assert.deepEqual(batches, [[1]]);
  });
});
