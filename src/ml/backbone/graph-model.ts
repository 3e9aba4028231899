// TF-Hub graph-model MobileNetV2 (nsfwjs `mobilenet_v2_mid`, width 1.4) → IR.
// Its convolutions already carry folded batch-norm (`_bn_offset`); TF "SAME" padding maps to
// ONNX SAME_UPPER (extra row/column at the bottom/right, like TF).
import type { Tensor } from './tfjs-weights.ts';
import { depthwiseToOihw, hwioToOihw } from './ir.ts';
import type { BackboneIR, Op } from './ir.ts';

interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, { list?: { i?: string[]; s?: string[] }; s?: string }>;
}

const PREFIX = /^.*\/predict\//;
const short = (n: string): string => n.replace(PREFIX, '');

function tapName(node: string): string | undefined {
  if (node === 'MobilenetV2/Conv_1/Relu6') return 'embedding';
  if (node === 'MobilenetV2/expanded_conv/project/BatchNorm/FusedBatchNormV3') return 'b0_out';
  const m =
    /^MobilenetV2\/expanded_conv_(\d+)\/(expand\/Relu6|depthwise\/depthwise|add|project\/BatchNorm\/FusedBatchNormV3)$/.exec(
      node,
    );
  if (!m) return undefined;
  const kind = m[2].startsWith('expand') ? 'expand' : m[2].startsWith('depthwise') ? 'dw' : 'out';
  return `b${m[1]}_${kind}`;
}

const decode = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

export function graphModelToIR(topology: unknown, weights: Map<string, Tensor>): BackboneIR {
  const nodes = (topology as { node: GraphNode[] }).node;
  const consts = new Map<string, Tensor>();
  for (const [name, t] of weights) consts.set(short(name), t);
  const ops: Op[] = [];
  const channels = new Map<string, number>();
  const taps = new Map<string, string>();
  const input = 'input_nchw';
  const tensorOf = new Map<string, string>();
  const scalar = (n: string): number => {
    const t = consts.get(short(n));
    if (!t || t.data.length !== 1) throw new Error(`expected scalar const ${n}`);
    return t.data[0];
  };
  let pendingMul: { src: string; scale: number } | undefined;

  for (const node of nodes) {
    const name = short(node.name);
    const ins = (node.input ?? []).map(short);
    switch (node.op) {
      case 'Const':
        continue;
      case 'Placeholder':
        tensorOf.set(name, input);
        channels.set(input, 3);
        break;
      case 'Mul':
        pendingMul = { src: tensorOf.get(ins[1])!, scale: scalar(ins[0]) };
        break;
      case 'Sub': {
        if (!pendingMul) throw new Error('Sub without Mul');
        ops.push({
          kind: 'affine',
          input: pendingMul.src,
          output: name,
          scale: pendingMul.scale,
          shift: scalar(ins[1]),
        });
        tensorOf.set(name, name);
        channels.set(name, 3);
        break;
      }
      case '_FusedConv2D':
      case 'FusedDepthwiseConv2dNative': {
        const depthwise = node.op === 'FusedDepthwiseConv2dNative';
        const fused = (node.attr?.fused_ops?.list?.s ?? []).map(decode);
        if (fused[0] !== 'BiasAdd' || fused.length > 2 || (fused[1] && fused[1] !== 'Relu6'))
          throw new Error(`unsupported fused ops ${fused} in ${name}`);
        if (decode(node.attr?.padding?.s ?? '') !== 'SAME')
          throw new Error(`unsupported padding in ${name}`);
        const strides = (node.attr?.strides?.list?.i ?? []).map(Number);
        const k = consts.get(ins[1])!;
        const b = consts.get(ins[2])!;
        const [kh, kw, ci, co] = k.shape;
        ops.push({
          kind: 'conv',
          input: tensorOf.get(ins[0])!,
          output: name,
          weight: depthwise ? depthwiseToOihw(k.data, k.shape) : hwioToOihw(k.data, k.shape),
          weightShape: depthwise ? [ci, 1, kh, kw] : [co, ci, kh, kw],
          bias: b.data.slice(),
          strides: [strides[1], strides[2]],
          group: depthwise ? ci : 1,
          pads: 'SAME_UPPER',
          relu6: fused[1] === 'Relu6',
        });
        tensorOf.set(name, name);
        channels.set(name, depthwise ? ci : co);
        break;
      }
      case 'AddV2': {
        const [a, b] = ins.map((n) => tensorOf.get(n)!);
        ops.push({ kind: 'add', inputs: [a, b], output: name });
        tensorOf.set(name, name);
        channels.set(name, channels.get(a)!);
        break;
      }
      default:
        // AvgPool / Squeeze / the NSFW dense head: the backbone ends at Conv_1/Relu6.
        continue;
    }
    const tap = tapName(name);
    if (tap) taps.set(tap, tensorOf.get(name)!);
  }
  const tapChannels = new Map([...taps].map(([t, n]) => [t, channels.get(n)!]));
  return { input, ops, taps, channels: tapChannels };
}
