// A tiny intermediate form of a MobileNetV2-style network: convolutions with folded
// batch-norm, optional ReLU6, residual adds and an input affine. Both TF.js formats map onto it.

export interface ConvOp {
  kind: 'conv';
  input: string;
  output: string;
  /** ONNX layout [out, in/group, kh, kw]. */
  weight: Float32Array;
  weightShape: [number, number, number, number];
  bias: Float32Array;
  strides: [number, number];
  group: number;
  /** Explicit [top, left, bottom, right] pads, or SAME_UPPER. */
  pads: [number, number, number, number] | 'SAME_UPPER';
  relu6: boolean;
}

export interface AddOp {
  kind: 'add';
  inputs: [string, string];
  output: string;
}

/** y = x * scale - shift (the TF-Hub model's [0,1] → [-1,1] input mapping). */
export interface AffineOp {
  kind: 'affine';
  input: string;
  output: string;
  scale: number;
  shift: number;
}

export type Op = ConvOp | AddOp | AffineOp;

export interface BackboneIR {
  /** Name of the NCHW input tensor the first op reads. */
  input: string;
  ops: Op[];
  /** Tap name (e.g. `b13_expand`, `b16_out`, `embedding`) → tensor name. */
  taps: Map<string, string>;
  /** Channels of each tap tensor. */
  channels: Map<string, number>;
}

/** Keras [kh, kw, in, out] → ONNX [out, in, kh, kw]. */
export function hwioToOihw(data: Float32Array, shape: number[]): Float32Array {
  const [kh, kw, ci, co] = shape;
  const out = new Float32Array(data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++)
          out[((o * ci + i) * kh + y) * kw + x] = data[((y * kw + x) * ci + i) * co + o];
  return out;
}

/** Depthwise [kh, kw, c, 1] → ONNX grouped conv weights [c, 1, kh, kw]. */
export function depthwiseToOihw(data: Float32Array, shape: number[]): Float32Array {
  const [kh, kw, c, m] = shape;
  if (m !== 1) throw new Error('depth multiplier must be 1');
  const out = new Float32Array(data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < c; i++) out[(i * kh + y) * kw + x] = data[(y * kw + x) * c + i];
  return out;
}
