// The int8 backbone: statically quantised by the project's own ONNX writer, selected per model by
// `backbone.precision`, produced by training, close to the float graph, and really run in integer
// kernels by onnxruntime (QLinearConv), not as float ops with extra rounding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { backboneInt8, type Manifest } from '../../src/ml/artifact/manifest.ts';
import { ensureBackbone } from '../../src/ml/backbone/build.ts';
import { calibrateRanges } from '../../src/ml/backbone/quantize.ts';
import { BackbonePool, BackboneSession } from '../../src/ml/backbone/session.ts';
import { parseBackboneId } from '../../src/ml/backbone/specs.ts';
import { loadModel } from '../../src/ml/classifier.ts';
import { decodeRgb, preprocess, toFloat } from '../../src/ml/preprocess.ts';
import { trainModel } from '../../src/ml/train/train-model.ts';
import { TEST_STORE, cosine, syntheticImage } from './helpers.ts';

const ID = 'mnv2-140-128-b16';
const TAPS = ['b12_expand:q3', 'b13_expand:q3', 'b16_out'];
const PRE = { size: 128, fit: 'stretch', kernel: 'lanczos3', scale: '0..1' } as const;

test('the int8 graph computes nearly the float features, in QLinearConv kernels', async () => {
  const calib = await Promise.all(
    Array.from({ length: 12 }, async (_, i) => decodeRgb(await syntheticImage(i + 1), PRE)),
  );
  const ranges = await calibrateRanges(parseBackboneId(ID), TAPS, calib);
  const int8Path = await ensureBackbone(TEST_STORE, ID, TAPS, ranges);
  assert.match(int8Path, /\.int8-[0-9a-f]{12}\.onnx$/);
  const fp = await BackboneSession.create(await ensureBackbone(TEST_STORE, ID, TAPS), ID, {}, TAPS);
  const q8 = await BackboneSession.create(int8Path, ID, {}, TAPS, ranges);
  const dir = await mkdtemp(join(tmpdir(), 'aquaml-int8-'));
  try {
    assert.equal(q8.variant.startsWith('int8-'), true);
    assert.equal(fp.variant, 'fp32');
    // Images the calibration did not see.
    const n = 3;
    const px = 128 * 128 * 3;
    const batch = new Float32Array(n * px);
    for (let i = 0; i < n; i++)
      toFloat(await decodeRgb(await syntheticImage(50 + i), PRE), batch, i * px);
    const a = await fp.run(batch, n);
    const b = await q8.run(batch, n);
    for (const tap of TAPS) {
      const d = a[tap]!.length / n;
      for (let i = 0; i < n; i++) {
        const c = cosine(
          a[tap]!.subarray(i * d, (i + 1) * d),
          b[tap]!.subarray(i * d, (i + 1) * d),
        );
        assert.ok(c > 0.97, `${tap} image ${i}: cosine ${c}`);
      }
    }
    // What onnxruntime actually runs after its graph optimisations.
    const optimized = join(dir, 'optimized.onnx');
    // `extended` is where onnxruntime fuses QDQ groups (`all` adds layout changes on top).
    const s = await ort.InferenceSession.create(int8Path, {
      graphOptimizationLevel: 'extended',
      optimizedModelFilePath: optimized,
    });
    await s.release();
    const ops = onnxProto.onnx.ModelProto.decode(await readFile(optimized)).graph!.node!.map(
      (n) => n.opType,
    );
    assert.ok(ops.filter((o) => o === 'QLinearConv').length >= 40, 'convolutions run in int8');
    assert.equal(ops.includes('Conv'), false, 'no float convolution is left');
  } finally {
    await fp.release();
    await q8.release();
    await rm(dir, { recursive: true, force: true });
  }
});

test('backbone.precision selects the graph: fp32 by default, int8 needs its ranges', () => {
  const base = {
    id: ID,
    width: 1.4,
    input_size: 128,
    taps: TAPS,
    feature_dim: 15136,
  } satisfies Manifest['backbone'];
  assert.equal(backboneInt8(base), undefined);
  assert.equal(backboneInt8({ ...base, precision: 'fp32' }), undefined);
  assert.throws(() => backboneInt8({ ...base, precision: 'int8' }), /activation ranges/);
  assert.throws(
    () => backboneInt8({ ...base, precision: 'int4' as 'int8' }),
    /must be int8 or fp32, got "int4"/,
  );
});

test('training with precision int8 writes a model that serves from the int8 graph', async () => {
  const root = await mkdtemp(join(tmpdir(), 'aquaml-int8-train-'));
  const store = join(root, 'store');
  const pool = new BackbonePool(store);
  try {
    for (const [c, label] of ['reds', 'blues'].entries())
      for (let i = 0; i < 8; i++) {
        await mkdir(join(root, 'data', label), { recursive: true });
        await writeFile(
          join(root, 'data', label, `img${i}.png`),
          await syntheticImage(100 * c + i + 1),
        );
      }
    const r = await trainModel({
      task: 'species',
      dataDir: join(root, 'data'),
      name: 'tiny',
      version: 1,
      backbone: 'mnv2-100-96-b16',
      taps: ['b13_expand', 'b16_out'],
      cacheDir: join(root, 'cache'),
      backbones: pool,
      precision: 'int8',
      outDir: join(root, 'model'),
    });
    const b = r.manifest.backbone;
    assert.equal(b.precision, 'int8');
    assert.ok(Object.keys(b.quantization!.ranges).length > 20);
    assert.equal(b.quantization!.calibration.images, 12);
    assert.equal(typeof b.quantization!.fp32_reference!.val_accuracy, 'number');
    const card = await readFile(join(root, 'model', 'MODEL_CARD.md'), 'utf8');
    assert.match(card, /Backbone precision: int8 .*same recipe on the fp32 backbone/);
    // The fp32 reference run leaves nothing behind next to the model.
    assert.deepEqual(await readdir(root), ['cache', 'data', 'model', 'store'].sort());

    const clf = await loadModel(join(root, 'model'), pool);
    const [p] = await clf.predictBatch([
      await preprocess(await syntheticImage(1), clf.preprocessing),
    ]);
    assert.ok(['reds', 'blues'].includes(p!.label));
    const graphs = await readdir(join(store, 'backbones'));
    assert.ok(
      graphs.some((f) => /\.int8-[0-9a-f]{12}\.onnx$/.test(f)),
      graphs.join(),
    );

    // The same model with its precision edited to int8 but no ranges is refused with the reason.
    const manifest = JSON.parse(await readFile(join(root, 'model', 'manifest.json'), 'utf8'));
    delete manifest.backbone.quantization;
    await writeFile(join(root, 'model', 'manifest.json'), JSON.stringify(manifest));
    await assert.rejects(loadModel(join(root, 'model'), pool), /activation ranges/);
  } finally {
    await pool.close();
    await rm(root, { recursive: true, force: true });
  }
});
