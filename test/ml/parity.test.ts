// The converted ONNX graphs must compute what TF.js computes from the same nsfwjs weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { ensureBackbone } from '../../src/ml/backbone/build.ts';
import { BackboneSession } from '../../src/ml/backbone/session.ts';
import { loadTfjsModel, nsfwjsModelPath } from '../../src/ml/backbone/tfjs-weights.ts';
import { preprocess } from '../../src/ml/preprocess.ts';
import { TEST_STORE, cosine, syntheticImage } from './helpers.ts';

const require = createRequire(import.meta.url);
// TF.js is the reference here, not the runtime: no "install the node backend" banner in the output.
tf.env().set('IS_TEST', true);
const N = 2;
const SIZE = 224;

async function inputs(): Promise<Float32Array> {
  const batch = new Float32Array(N * SIZE * SIZE * 3);
  for (let i = 0; i < N; i++)
    batch.set(
      await preprocess(await syntheticImage(i + 1), {
        size: SIZE,
        fit: 'stretch',
        kernel: 'lanczos3',
        scale: '0..1',
      }),
      i * SIZE * SIZE * 3,
    );
  return batch;
}

function weightData(modelPath: string): { specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer } {
  const { json } = loadTfjsModel(modelPath);
  // Re-read the raw (still quantised) shards: TF.js must dequantise them itself.
  const dir = modelPath.replace(/model\.min\.js$/, '');
  const bufs = json.weightsManifest.flatMap((g) =>
    g.paths.map((p) => Buffer.from(require(`${dir}${p}.min.js`) as string, 'base64')),
  );
  const all = Buffer.concat(bufs);
  return {
    specs: json.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
    data: all.buffer.slice(all.byteOffset, all.byteOffset + all.length),
  };
}

function pooled(t: tf.Tensor): Float32Array {
  return tf.tidy(() => tf.mean(t, [1, 2])).dataSync() as Float32Array;
}

async function onnxTaps(
  id: string,
  batch: Float32Array,
  taps: string[],
): Promise<Record<string, Float32Array>> {
  const s = await BackboneSession.create(await ensureBackbone(TEST_STORE, id), id);
  try {
    return await s.run(batch, N, taps);
  } finally {
    await s.release();
  }
}

function assertClose(name: string, a: Float32Array, b: Float32Array): void {
  assert.equal(a.length, b.length, `${name} length`);
  const d = a.length / N;
  for (let i = 0; i < N; i++) {
    const c = cosine(a.subarray(i * d, (i + 1) * d), b.subarray(i * d, (i + 1) * d));
    assert.ok(c >= 0.9999, `${name} image ${i}: cosine ${c}`);
  }
}

test('MobileNetV2 1.0 (Keras layers model): ONNX taps equal TF.js', async () => {
  await tf.setBackend('cpu');
  const path = nsfwjsModelPath('mobilenet_v2');
  const { json } = loadTfjsModel(path);
  const { specs, data } = weightData(path);
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology as object,
      weightSpecs: specs,
      weightData: data,
    }),
  );
  const sub = tf.model({
    inputs: model.inputs,
    outputs: ['out_relu', 'block_13_expand_relu', 'block_5_add'].map(
      (n) => model.getLayer(n).output as tf.SymbolicTensor,
    ),
  });
  const batch = await inputs();
  const outs = sub.predict(tf.tensor4d(batch, [N, SIZE, SIZE, 3])) as tf.Tensor[];
  const ref = outs.map(pooled);
  const got = await onnxTaps('mnv2-100-224', batch, ['embedding', 'b13_expand', 'b5_out']);
  assertClose('embedding', got.embedding, ref[0]);
  assertClose('b13_expand', got.b13_expand, ref[1]);
  assertClose('b5_out', got.b5_out, ref[2]);
  tf.dispose(outs);
  model.dispose();
});

test('MobileNetV2 1.4 (TF-Hub graph model): ONNX taps equal TF.js', async () => {
  await tf.setBackend('cpu');
  const path = nsfwjsModelPath('mobilenet_v2_mid');
  const { json } = loadTfjsModel(path);
  const { specs, data } = weightData(path);
  const model = await tf.loadGraphModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology as object,
      weightSpecs: specs,
      weightData: data,
      format: 'graph-model',
    }),
  );
  const prefix =
    'StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/StatefulPartitionedCall/predict/MobilenetV2/';
  const batch = await inputs();
  // The graph has no control flow, so the synchronous execute (executeAsync warns about it).
  const outs = model.execute(tf.tensor4d(batch, [N, SIZE, SIZE, 3]), [
    `${prefix}Conv_1/Relu6`,
    `${prefix}expanded_conv_13/expand/Relu6`,
    `${prefix}expanded_conv_16/project/BatchNorm/FusedBatchNormV3`,
  ]) as tf.Tensor[];
  const ref = outs.map(pooled);
  const got = await onnxTaps('mnv2-140-224', batch, ['embedding', 'b13_expand', 'b16_out']);
  assertClose('embedding', got.embedding, ref[0]);
  assertClose('b13_expand', got.b13_expand, ref[1]);
  assertClose('b16_out', got.b16_out, ref[2]);
  tf.dispose([...outs]);
  model.dispose();
});
