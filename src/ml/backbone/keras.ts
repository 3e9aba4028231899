// Keras layers-model MobileNetV2 (nsfwjs `mobilenet_v2`, width 1.0) → IR.
// ZeroPadding2D layers are folded into the next convolution as explicit asymmetric pads and
// batch-norm into the preceding convolution's weights and bias.
import type { Tensor } from './tfjs-weights.ts';
import { depthwiseToOihw, hwioToOihw } from './ir.ts';
import type { BackboneIR, ConvOp, Op } from './ir.ts';

interface KerasLayer {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes: [string, number, number, unknown][][];
}

function tapName(layer: string): string | undefined {
  if (layer === 'out_relu') return 'embedding';
  if (layer === 'expanded_conv_project_BN') return 'b0_out';
  const m = /^block_(\d+)_(expand_relu|depthwise_relu|add|project_BN)$/.exec(layer);
  if (!m) return undefined;
  const kind = { expand_relu: 'expand', depthwise_relu: 'dw', add: 'out', project_BN: 'out' }[m[2]];
  return `b${m[1]}_${kind}`;
}

export function kerasToIR(topology: unknown, weights: Map<string, Tensor>): BackboneIR {
  const layers = (topology as { model_config: { config: { layers: KerasLayer[] } } }).model_config
    .config.layers;
  const get = (n: string): Tensor => {
    const t = weights.get(n);
    if (!t) throw new Error(`missing weight ${n}`);
    return t;
  };
  const ops: Op[] = [];
  // Keras layer name → IR tensor name (pads and BN/ReLU collapse onto their conv).
  const tensorOf = new Map<string, string>();
  const pendingPad = new Map<string, { src: string; pads: [number, number, number, number] }>();
  const producer = new Map<string, ConvOp>();
  const channels = new Map<string, number>();
  const taps = new Map<string, string>();
  const input = 'input_nchw';

  for (const l of layers) {
    const inbound = l.inbound_nodes[0]?.map((n) => n[0]) ?? [];
    const src = inbound[0];
    switch (l.class_name) {
      case 'InputLayer':
        tensorOf.set(l.name, input);
        channels.set(input, 3);
        break;
      case 'ZeroPadding2D': {
        const [[t, b], [le, r]] = l.config.padding as [[number, number], [number, number]];
        pendingPad.set(l.name, { src: tensorOf.get(src)!, pads: [t, le, b, r] });
        break;
      }
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const pad = pendingPad.get(src);
        const inTensor = pad ? pad.src : tensorOf.get(src)!;
        const depthwise = l.class_name === 'DepthwiseConv2D';
        const k = get(`${l.name}/${depthwise ? 'depthwise_kernel' : 'kernel'}`);
        const [kh, kw, ci, co] = k.shape;
        const outC = depthwise ? ci : co;
        let pads: [number, number, number, number] = pad ? pad.pads : [0, 0, 0, 0];
        if (l.config.padding === 'same') {
          if ((l.config.strides as number[])[0] !== 1)
            throw new Error(`strided same padding in ${l.name}`);
          pads = [(kh - 1) >> 1, (kw - 1) >> 1, kh >> 1, kw >> 1];
        }
        const op: ConvOp = {
          kind: 'conv',
          input: inTensor,
          output: l.name,
          weight: depthwise ? depthwiseToOihw(k.data, k.shape) : hwioToOihw(k.data, k.shape),
          weightShape: depthwise ? [ci, 1, kh, kw] : [co, ci, kh, kw],
          bias: l.config.use_bias ? get(`${l.name}/bias`).data.slice() : new Float32Array(outC),
          strides: l.config.strides as [number, number],
          group: depthwise ? ci : 1,
          pads,
          relu6: false,
        };
        ops.push(op);
        producer.set(l.name, op);
        tensorOf.set(l.name, l.name);
        channels.set(l.name, outC);
        break;
      }
      case 'BatchNormalization': {
        const op = producer.get(tensorOf.get(src)!);
        if (!op || op.relu6) throw new Error(`cannot fold ${l.name}`);
        const eps = l.config.epsilon as number;
        const g = get(`${l.name}/gamma`).data;
        const beta = get(`${l.name}/beta`).data;
        const mean = get(`${l.name}/moving_mean`).data;
        const variance = get(`${l.name}/moving_variance`).data;
        const per = op.weight.length / g.length;
        for (let c = 0; c < g.length; c++) {
          const s = g[c] / Math.sqrt(variance[c] + eps);
          for (let j = 0; j < per; j++) op.weight[c * per + j] *= s;
          op.bias[c] = (op.bias[c] - mean[c]) * s + beta[c];
        }
        tensorOf.set(l.name, op.output);
        break;
      }
      case 'ReLU': {
        if (l.config.max_value !== 6) throw new Error(`unsupported ReLU in ${l.name}`);
        const op = producer.get(tensorOf.get(src)!);
        if (!op) throw new Error(`ReLU ${l.name} without conv`);
        op.relu6 = true;
        tensorOf.set(l.name, op.output);
        break;
      }
      case 'Add': {
        const [a, b] = inbound.map((n) => tensorOf.get(n)!);
        ops.push({ kind: 'add', inputs: [a, b], output: l.name });
        tensorOf.set(l.name, l.name);
        channels.set(l.name, channels.get(a)!);
        break;
      }
      default:
        // Pooling, flatten and the NSFW classifier layers: the backbone ends at `out_relu`.
        continue;
    }
    const tap = tapName(l.name);
    if (tap) taps.set(tap, tensorOf.get(l.name)!);
  }
  const tapChannels = new Map([...taps].map(([t, n]) => [t, channels.get(n)!]));
  return { input, ops, taps, channels: tapChannels };
}
