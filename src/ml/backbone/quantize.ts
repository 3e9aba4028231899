// Static int8 quantisation of a converted backbone: activation ranges are calibrated by running
// the float graph on sample images (every quantised activation as an extra output, min/max over
// the samples); the int8 graph itself is written by onnx-writer.ts from the IR and these ranges.
// The ranges are stored in the model's manifest, so the same graph is rebuilt wherever the model
// is served, like the float one.
import * as ort from 'onnxruntime-node';
import { backboneIR } from './build.ts';
import { type ActivationRanges, irToOnnx, quantizedTensors } from './onnx-writer.ts';

export { rangesId } from './onnx-writer.ts';
import type { BackboneSpec } from './specs.ts';

export type BackbonePrecision = 'fp32' | 'int8';

/** Training images whose activations set the int8 ranges (spread evenly over the training set). */
export const CALIBRATION_IMAGES = 256;

/** What a manifest records about an int8 backbone (`backbone.quantization`). */
export interface Int8Quantization {
  /** QuantizeLinear/DequantizeLinear pairs around float ops, which onnxruntime fuses. */
  format: 'qdq';
  weights: 'int8-symmetric-per-channel';
  activations: 'uint8-per-tensor';
  calibration: { method: 'minmax'; images: number; source: string };
  /** [min, max] per activation tensor of the converted graph (IR names). */
  ranges: ActivationRanges;
  /** The same training recipe on the fp32 graph: what int8 changed on validation. */
  fp32_reference?: { val_accuracy: number; val_macro_f1: number };
}

// Six significant digits: the manifest holds the ranges as JSON, and the graph is built from
// what the manifest holds, so the rounding happens once, here.
const round6 = (v: number): number => Number(v.toPrecision(6));

/**
 * Min/max of every activation an int8 graph of `spec` with `taps` quantises, over `images`
 * (decoded RGB, size × size × 3, 0-255).
 */
export async function calibrateRanges(
  spec: BackboneSpec,
  taps: readonly string[],
  images: readonly Uint8Array[],
  opts: { threads?: number; batchSize?: number } = {},
): Promise<ActivationRanges> {
  if (!images.length) throw new Error('calibration needs at least one image');
  const ir = backboneIR(spec.width);
  const probes = quantizedTensors(ir, taps);
  const graph = irToOnnx(ir, {
    inputSize: spec.inputSize,
    taps: [...taps],
    producer: 'aquaml-calibrate',
    probes,
  });
  const session = await ort.InferenceSession.create(graph, {
    intraOpNumThreads: opts.threads ?? 2,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    enableMemPattern: false,
  });
  const lo = new Float64Array(probes.length).fill(Infinity);
  const hi = new Float64Array(probes.length).fill(-Infinity);
  const s = spec.inputSize;
  const px = s * s * 3;
  const bs = opts.batchSize ?? 4;
  try {
    for (let i = 0; i < images.length; i += bs) {
      const chunk = images.slice(i, i + bs);
      const input = new Float32Array(chunk.length * px);
      chunk.forEach((rgb, k) => {
        if (rgb.length !== px) throw new Error(`calibration image ${i + k} is not ${s}x${s}x3`);
        for (let j = 0; j < px; j++) input[k * px + j] = rgb[j] / 255;
      });
      const out = await session.run(
        { input: new ort.Tensor('float32', input, [chunk.length, s, s, 3]) },
        probes,
      );
      probes.forEach((t, k) => {
        const d = out[t]!.data as Float32Array;
        let a = lo[k]!;
        let b = hi[k]!;
        for (let j = 0; j < d.length; j++) {
          const v = d[j]!;
          if (v < a) a = v;
          if (v > b) b = v;
        }
        lo[k] = a;
        hi[k] = b;
      });
    }
  } finally {
    await session.release();
  }
  return Object.fromEntries(probes.map((t, k) => [t, [round6(lo[k]!), round6(hi[k]!)]]));
}
