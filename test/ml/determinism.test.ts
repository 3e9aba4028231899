// Same data + seed → byte-identical head and prototypes (and manifest, given a fixed timestamp).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackbonePool } from '../../src/ml/backbone/session.ts';
import { loadModel } from '../../src/ml/classifier.ts';
import { evaluateModel } from '../../src/ml/evaluate/evaluate-model.ts';
import { preprocess } from '../../src/ml/preprocess.ts';
import { trainModel } from '../../src/ml/train/train-model.ts';
import { TEST_STORE, syntheticImage } from './helpers.ts';

test('training is deterministic and the artefact loads and classifies', async () => {
  const root = await mkdtemp(join(tmpdir(), 'aquaml-det-'));
  const pool = new BackbonePool(TEST_STORE);
  try {
    for (const [c, label] of ['reds', 'blues'].entries())
      for (let i = 0; i < 8; i++) {
        await mkdir(join(root, 'data', label), { recursive: true });
        await writeFile(
          join(root, 'data', label, `img${i}.png`),
          await syntheticImage(100 * c + i + 1),
        );
      }
    const common = {
      task: 'species' as const,
      dataDir: join(root, 'data'),
      name: 'tiny',
      version: 1,
      backbone: 'mnv2-100-96-b16',
      taps: ['b13_expand', 'b16_out'],
      cacheDir: join(root, 'cache'),
      backbones: pool,
      createdAt: '2020-01-01T00:00:00.000Z',
    };
    const a = await trainModel({ ...common, outDir: join(root, 'a') });
    const b = await trainModel({ ...common, outDir: join(root, 'b') });
    assert.equal(b.manifest.training.n_train + b.manifest.training.n_val, 16);
    for (const f of [
      'head.bin',
      'prototypes.bin',
      'manifest.json',
      'MODEL_CARD.md',
      'confusion.svg',
    ])
      assert.deepEqual(
        await readFile(join(root, 'a', f)),
        await readFile(join(root, 'b', f)),
        `${f} differs`,
      );

    const clf = await loadModel(join(root, 'a'), pool);
    const x = await preprocess(await syntheticImage(1), clf.preprocessing);
    const [p] = await clf.predictBatch([x]);
    assert.ok(['reds', 'blues'].includes(p.label));
    assert.ok(p.confidence > 0 && p.confidence <= 1);
    assert.equal(p.top_k.length, 2);
    const [q] = await clf.predictBatch([x], { flipTta: true });
    assert.ok(Math.abs(q.confidence - p.confidence) < 0.5);
    const ev = await evaluateModel(clf, join(root, 'data'));
    assert.equal(ev.n, 16);
    assert.ok(ev.accuracy >= 0.5);
    assert.equal(a.manifest.labels.join(), 'blues,reds');
  } finally {
    await pool.close();
    await rm(root, { recursive: true, force: true });
  }
});
