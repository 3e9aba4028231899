// IR → ONNX (opset 13). Input NHWC float32 [batch, H, W, 3] (batch dynamic); one output per
// requested tap, pooled to [batch, C] (global average by default; `:max`, `:gem<p>` and `:q2`
// variants, see specs.ts). Ops no tap depends on are dropped, so the graph is truncated after
// the last tap it needs.
//
// With `int8` activation ranges the graph is statically quantised in QDQ form: every activation a
// convolution or an addition reads or writes passes QuantizeLinear → DequantizeLinear (uint8,
// per tensor, from calibrated ranges); convolution weights are int8, symmetric, per output channel,
// and biases int32 at the input scale × weight scale. onnxruntime fuses these groups into
// QLinearConv / QLinearAdd, so the convolutions run in integer arithmetic.
import { createHash } from 'node:crypto';
import onnxProto from 'onnx-proto';
import type { BackboneIR, Op } from './ir.ts';
import { parseTap } from './specs.ts';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const { UINT8, INT8, INT32 } = onnx.TensorProto.DataType;
const A = onnx.AttributeProto.AttributeType;

function tensor(name: string, dims: number[], data: Float32Array): onnxProto.onnx.ITensorProto {
  return {
    name,
    dims,
    dataType: FLOAT,
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

const ints = (name: string, v: number[]): onnxProto.onnx.IAttributeProto => ({
  name,
  type: A.INTS,
  ints: v,
});
const int = (name: string, v: number): onnxProto.onnx.IAttributeProto => ({
  name,
  type: A.INT,
  i: v,
});
const str = (name: string, v: string): onnxProto.onnx.IAttributeProto => ({
  name,
  type: A.STRING,
  s: new TextEncoder().encode(v),
});

function neededOps(ir: BackboneIR, tapTensors: string[]): Op[] {
  const byOutput = new Map(ir.ops.map((o) => [o.output, o]));
  const keep = new Set<Op>();
  const stack = [...tapTensors];
  while (stack.length) {
    const op = byOutput.get(stack.pop()!);
    if (!op || keep.has(op)) continue;
    keep.add(op);
    stack.push(...(op.kind === 'add' ? op.inputs : [op.input]));
  }
  return ir.ops.filter((o) => keep.has(o));
}

/** Calibrated [min, max] of each activation tensor (by IR tensor name), see quantize.ts. */
export type ActivationRanges = Record<string, readonly [number, number]>;

/** A stable short id of a set of ranges: part of the graph's file name and of cache keys. */
export function rangesId(ranges: ActivationRanges): string {
  const keys = Object.keys(ranges).sort();
  return createHash('sha256')
    .update(JSON.stringify(keys.map((k) => [k, ranges[k]])))
    .digest('hex')
    .slice(0, 12);
}

export interface OnnxBuildOptions {
  inputSize: number;
  taps: string[];
  producer: string;
  docString?: string;
  /** Quantise statically to int8 with these ranges (every tensor of `quantizedTensors`). */
  int8?: ActivationRanges;
  /** Extra graph outputs: raw IR tensors (calibration reads every activation this way). */
  probes?: string[];
}

/**
 * The activations an int8 graph quantises for these taps: everything a convolution or an
 * addition reads or writes. Calibration measures exactly these.
 */
export function quantizedTensors(ir: BackboneIR, taps: readonly string[]): string[] {
  const ops = neededOps(ir, tapTensorsOf(ir, taps));
  const set = new Set<string>();
  for (const op of ops) {
    if (op.kind === 'affine') continue;
    for (const t of op.kind === 'add' ? op.inputs : [op.input]) set.add(t);
    set.add(op.output);
  }
  return [...set];
}

/** Tensors that come out of a ReLU6: their range is [0, min(max, 6)] whatever calibration saw. */
export function relu6Tensors(ir: BackboneIR): Set<string> {
  return new Set(ir.ops.flatMap((o) => (o.kind === 'conv' && o.relu6 ? [o.output] : [])));
}

function tapTensorsOf(ir: BackboneIR, taps: readonly string[]): string[] {
  return taps.map((tap) => {
    const n = ir.taps.get(parseTap(tap).base);
    if (!n) throw new Error(`unknown tap ${tap}; available: ${[...ir.taps.keys()].join(', ')}`);
    return n;
  });
}

/** uint8 affine parameters covering [lo, hi] (widened to include 0, so zero is exact). */
export function activationParams(lo: number, hi: number): { scale: number; zeroPoint: number } {
  const a = Math.min(0, lo);
  const b = Math.max(0, hi);
  const scale = b > a ? (b - a) / 255 : 1;
  return { scale, zeroPoint: Math.min(255, Math.max(0, Math.round(-a / scale))) };
}

/** Symmetric int8 per output channel (axis 0): q in [-127, 127], w ≈ q × scale[o]. */
export function quantizeWeights(
  w: Float32Array,
  outChannels: number,
): { q: Int8Array; scales: Float32Array } {
  const per = w.length / outChannels;
  const q = new Int8Array(w.length);
  const scales = new Float32Array(outChannels);
  for (let o = 0; o < outChannels; o++) {
    let max = 0;
    for (let i = o * per; i < (o + 1) * per; i++) max = Math.max(max, Math.abs(w[i]));
    const scale = max > 0 ? max / 127 : 1;
    scales[o] = scale;
    for (let i = o * per; i < (o + 1) * per; i++)
      q[i] = Math.max(-127, Math.min(127, Math.round(w[i] / scale)));
  }
  return { q, scales };
}

const bytes = (a: ArrayBufferView): Uint8Array =>
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Spatial side of every IR tensor for a square input (SAME_UPPER: ceil(h / s)). */
function spatialSizes(ir: BackboneIR, inputSize: number): Map<string, number> {
  const size = new Map<string, number>([[ir.input, inputSize]]);
  for (const op of ir.ops) {
    if (op.kind === 'add') size.set(op.output, size.get(op.inputs[0])!);
    else if (op.kind === 'affine') size.set(op.output, size.get(op.input)!);
    else {
      const h = size.get(op.input)!;
      const [s] = op.strides;
      const k = op.weightShape[2];
      size.set(
        op.output,
        op.pads === 'SAME_UPPER'
          ? Math.ceil(h / s)
          : Math.floor((h + op.pads[0] + op.pads[2] - k) / s) + 1,
      );
    }
  }
  return size;
}

export function irToOnnx(ir: BackboneIR, opts: OnnxBuildOptions): Uint8Array {
  const parsed = opts.taps.map(parseTap);
  const tapTensors = tapTensorsOf(ir, opts.taps);
  const sizes = spatialSizes(ir, opts.inputSize);
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const inits: onnxProto.onnx.ITensorProto[] = [];
  const ranges = opts.int8;
  const quantized = new Set(ranges ? quantizedTensors(ir, opts.taps) : []);
  const relu6 = relu6Tensors(ir);
  /** What consumers read for an IR tensor: its dequantised copy in an int8 graph. */
  const read = new Map<string, string>();
  const use = (t: string): string => read.get(t) ?? t;
  const act = new Map<string, { scale: number; zeroPoint: number }>();
  /** Right after `t` is produced: QuantizeLinear → DequantizeLinear, consumers read the latter. */
  const qdq = (t: string): void => {
    if (!quantized.has(t)) return;
    const r = ranges![t];
    if (!r) throw new Error(`no calibrated range for activation ${t}`);
    const p = relu6.has(t) ? activationParams(0, Math.min(6, r[1])) : activationParams(r[0], r[1]);
    act.set(t, p);
    inits.push(tensor(`${t}/q_scale`, [], new Float32Array([p.scale])), {
      name: `${t}/q_zero_point`,
      dims: [],
      dataType: UINT8,
      rawData: new Uint8Array([p.zeroPoint]),
    });
    nodes.push({
      opType: 'QuantizeLinear',
      input: [t, `${t}/q_scale`, `${t}/q_zero_point`],
      output: [`${t}/q`],
    });
    nodes.push({
      opType: 'DequantizeLinear',
      input: [`${t}/q`, `${t}/q_scale`, `${t}/q_zero_point`],
      output: [`${t}/dq`],
    });
    read.set(t, `${t}/dq`);
  };
  nodes.push({
    opType: 'Transpose',
    input: ['input'],
    output: [ir.input],
    attribute: [ints('perm', [0, 3, 1, 2])],
  });
  qdq(ir.input);
  inits.push(
    tensor('relu6_min', [], new Float32Array([0])),
    tensor('relu6_max', [], new Float32Array([6])),
  );

  for (const op of neededOps(ir, tapTensors)) {
    if (op.kind === 'affine') {
      inits.push(tensor(`${op.output}/scale`, [], new Float32Array([op.scale])));
      inits.push(tensor(`${op.output}/shift`, [], new Float32Array([op.shift])));
      nodes.push({
        opType: 'Mul',
        input: [op.input, `${op.output}/scale`],
        output: [`${op.output}/mul`],
      });
      nodes.push({
        opType: 'Sub',
        input: [`${op.output}/mul`, `${op.output}/shift`],
        output: [op.output],
      });
    } else if (op.kind === 'add') {
      nodes.push({ opType: 'Add', input: op.inputs.map(use), output: [op.output] });
    } else {
      let w = `${op.output}/W`;
      let b = `${op.output}/B`;
      const inAct = act.get(op.input);
      if (inAct) {
        // int8 weights per output channel; the bias in int32 at input scale × weight scale.
        const outC = op.weightShape[0];
        const { q, scales } = quantizeWeights(op.weight, outC);
        const biasScale = scales.map((s) => s * inAct.scale);
        const qb = Int32Array.from(op.bias, (v, o) => Math.round(v / biasScale[o]));
        inits.push(
          { name: `${w}_q`, dims: op.weightShape, dataType: INT8, rawData: bytes(q) },
          tensor(`${w}_scale`, [outC], scales),
          { name: `${w}_zp`, dims: [outC], dataType: INT8, rawData: new Uint8Array(outC) },
          { name: `${b}_q`, dims: [outC], dataType: INT32, rawData: bytes(qb) },
          tensor(`${b}_scale`, [outC], biasScale),
          { name: `${b}_zp`, dims: [outC], dataType: INT32, rawData: new Uint8Array(4 * outC) },
        );
        const axis0 = [int('axis', 0)];
        nodes.push(
          {
            opType: 'DequantizeLinear',
            input: [`${w}_q`, `${w}_scale`, `${w}_zp`],
            output: [`${w}_dq`],
            attribute: axis0,
          },
          {
            opType: 'DequantizeLinear',
            input: [`${b}_q`, `${b}_scale`, `${b}_zp`],
            output: [`${b}_dq`],
            attribute: axis0,
          },
        );
        w = `${w}_dq`;
        b = `${b}_dq`;
      } else {
        inits.push(tensor(w, op.weightShape, op.weight), tensor(b, [op.bias.length], op.bias));
      }
      const attribute = [
        ints('kernel_shape', op.weightShape.slice(2)),
        ints('strides', op.strides),
        int('group', op.group),
        op.pads === 'SAME_UPPER' ? str('auto_pad', 'SAME_UPPER') : ints('pads', op.pads),
      ];
      const convOut = op.relu6 ? `${op.output}/preact` : op.output;
      nodes.push({
        opType: 'Conv',
        name: op.output,
        input: [use(op.input), w, b],
        output: [convOut],
        attribute,
      });
      if (op.relu6)
        nodes.push({
          opType: 'Clip',
          input: [convOut, 'relu6_min', 'relu6_max'],
          output: [op.output],
        });
    }
    qdq(op.output);
  }

  const outputs: onnxProto.onnx.IValueInfoProto[] = [];
  opts.taps.forEach((tap, i) => {
    const src = use(tapTensors[i]);
    const { base, pool } = parsed[i];
    const c = ir.channels.get(base)!;
    const h = sizes.get(tapTensors[i])!;
    const reduce = (op: string, input: string, output: string): void => {
      nodes.push({
        opType: op,
        input: [input],
        output: [output],
        attribute: [ints('axes', [2, 3]), int('keepdims', 0)],
      });
    };
    switch (pool.kind) {
      case 'avg':
        reduce('ReduceMean', src, tap);
        break;
      case 'max':
        reduce('ReduceMax', src, tap);
        break;
      case 'gem': {
        // (mean over positions of max(x, eps)^p)^(1/p); integer powers as products (exact, cheap).
        const eps = `${tap}/eps`;
        const inv = `${tap}/inv_p`;
        inits.push(tensor(eps, [], new Float32Array([1e-6])));
        inits.push(tensor(inv, [], new Float32Array([1 / pool.p])));
        nodes.push({ opType: 'Max', input: [src, eps], output: [`${tap}/clamped`] });
        let pw = `${tap}/clamped`;
        for (let e = 2; e <= pool.p; e++) {
          const next = `${tap}/pow${e}`;
          nodes.push({ opType: 'Mul', input: [pw, `${tap}/clamped`], output: [next] });
          pw = next;
        }
        reduce('ReduceMean', pw, `${tap}/mean`);
        nodes.push({ opType: 'Pow', input: [`${tap}/mean`, inv], output: [tap] });
        break;
      }
      case 'grid': {
        // n x n regions of side k, stride floor(h / n): they cover the map exactly, neighbouring
        // regions overlapping when n does not divide h.
        const stride = Math.floor(h / pool.n);
        const k = h - (pool.n - 1) * stride;
        if (stride < 1)
          throw new Error(`tap ${tap}: a ${h}x${h} map is smaller than ${pool.n}x${pool.n}`);
        nodes.push({
          opType: 'AveragePool',
          input: [src],
          output: [`${tap}/grid`],
          attribute: [ints('kernel_shape', [k, k]), ints('strides', [stride, stride])],
        });
        const shape = `${tap}/shape`;
        inits.push({
          name: shape,
          dims: [2],
          dataType: onnx.TensorProto.DataType.INT64,
          int64Data: [0, -1],
        });
        nodes.push({ opType: 'Reshape', input: [`${tap}/grid`, shape], output: [tap] });
        outputs.push(valueInfo(tap, ['batch', c * pool.n * pool.n]));
        return;
      }
      case 'raw':
        nodes.push({ opType: 'Identity', input: [src], output: [tap] });
        outputs.push(valueInfo(tap, ['batch', c, h, h]));
        return;
    }
    outputs.push(valueInfo(tap, ['batch', c]));
  });
  for (const t of opts.probes ?? []) outputs.push(valueInfo(t));

  const model: onnxProto.onnx.IModelProto = {
    irVersion: 7,
    producerName: opts.producer,
    docString: opts.docString ?? '',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'backbone',
      node: nodes,
      initializer: inits,
      input: [valueInfo('input', ['batch', opts.inputSize, opts.inputSize, 3])],
      output: outputs,
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

function valueInfo(name: string, dims?: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        ...(dims && {
          shape: {
            dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
          },
        }),
      },
    },
  };
}
