// IR → ONNX (opset 13). Input NHWC float32 [batch, H, W, 3] (batch dynamic); one output per
// requested tap, globally average-pooled to [batch, C]. Ops no tap depends on are dropped, so
// the graph is truncated after the last tap it needs.
import onnxProto from 'onnx-proto';
import type { BackboneIR, Op } from './ir.ts';

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

export function irToOnnx(ir: BackboneIR, opts: OnnxBuildOptions): Uint8Array {
  const tapTensors = opts.taps.map((t) => {
    const n = ir.taps.get(t);
    if (!n) throw new Error(`unknown tap ${t}; available: ${[...ir.taps.keys()].join(', ')}`);
    return n;
  });
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
    nodes.push({
      opType: 'ReduceMean',
      input: [tapTensors[i]],
      output: [tap],
      attribute: [ints('axes', [2, 3]), int('keepdims', 0)],
    });
    outputs.push(valueInfo(tap, ['batch', ir.channels.get(tap)!]));
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
