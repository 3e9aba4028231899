// IR → ONNX (opset 13). Input NHWC float32 [batch, H, W, 3] (batch dynamic); one output per
// requested tap, pooled to [batch, C] (global average by default; `:max`, `:gem<p>` and `:q2`
// variants, see specs.ts). Ops no tap depends on are dropped, so the graph is truncated after
// the last tap it needs.
import onnxProto from 'onnx-proto';
import type { BackboneIR, Op } from './ir.ts';
import { parseTap } from './specs.ts';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
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

export interface OnnxBuildOptions {
  inputSize: number;
  taps: string[];
  producer: string;
  docString?: string;
}

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
  const tapTensors = parsed.map(({ base }, i) => {
    const n = ir.taps.get(base);
    if (!n)
      throw new Error(`unknown tap ${opts.taps[i]}; available: ${[...ir.taps.keys()].join(', ')}`);
    return n;
  });
  const sizes = spatialSizes(ir, opts.inputSize);
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const inits: onnxProto.onnx.ITensorProto[] = [];
  nodes.push({
    opType: 'Transpose',
    input: ['input'],
    output: [ir.input],
    attribute: [ints('perm', [0, 3, 1, 2])],
  });
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
      nodes.push({ opType: 'Add', input: op.inputs, output: [op.output] });
    } else {
      const w = `${op.output}/W`;
      const b = `${op.output}/B`;
      inits.push(tensor(w, op.weightShape, op.weight), tensor(b, [op.bias.length], op.bias));
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
        input: [op.input, w, b],
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
  }

  const outputs: onnxProto.onnx.IValueInfoProto[] = [];
  opts.taps.forEach((tap, i) => {
    const src = tapTensors[i];
    const { base, pool } = parsed[i];
    const c = ir.channels.get(base)!;
    const h = sizes.get(src)!;
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

function valueInfo(name: string, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: {
          dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}
