// Converts the nsfwjs weights into `<storeDir>/backbones/<id>.onnx` once; later calls reuse it.
// With an explicit tap list the graph has exactly those outputs (`<id>.t<hash>.onnx`): onnxruntime
// computes every output of a graph whether fetched or not, and pooling nodes on the early, large
// maps are far from free (docs/model-research.md §7).
import { createHash } from 'node:crypto';
import { mkdir, rename, stat, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { graphModelToIR } from './graph-model.ts';
import { kerasToIR } from './keras.ts';
import { type ActivationRanges, irToOnnx, rangesId } from './onnx-writer.ts';
import { hasTap, parseBackboneId } from './specs.ts';
import type { BackboneSpec } from './specs.ts';
import { loadTfjsModel, nsfwjsModelPath } from './tfjs-weights.ts';
import type { BackboneIR } from './ir.ts';

export function backboneIR(width: 100 | 140): BackboneIR {
  const { json, weights } = loadTfjsModel(
    nsfwjsModelPath(width === 100 ? 'mobilenet_v2' : 'mobilenet_v2_mid'),
  );
  return width === 100
    ? kerasToIR(json.modelTopology, weights)
    : graphModelToIR(json.modelTopology, weights);
}

/**
 * The graph for `spec`; `taps` (default: every average-pooled tap) are its only outputs. With
 * `int8` activation ranges, statically quantised (onnx-writer.ts).
 */
export function buildBackboneOnnx(
  spec: BackboneSpec,
  taps: readonly string[] = spec.taps,
  int8?: ActivationRanges,
): Uint8Array {
  for (const t of taps)
    if (!hasTap(spec, t)) throw new Error(`backbone ${spec.id} has no tap ${t}`);
  return irToOnnx(backboneIR(spec.width), {
    inputSize: spec.inputSize,
    taps: [...taps],
    producer: 'aquaml-nsfwjs-convert',
    docString: `MobileNetV2 ${spec.width / 100} from nsfwjs (MIT), converted by AquaML; id ${spec.id}; outputs ${taps.join(',')}${int8 ? `; int8 QDQ, ranges ${rangesId(int8)}` : ''}`,
    int8,
  });
}

/**
 * File of a backbone graph: every tap (`<id>.onnx`) or exactly `taps` (`<id>.t<hash>.onnx`); an
 * int8 graph also names its activation ranges (`<id>.t<hash>.int8-<ranges id>.onnx`).
 */
export function backbonePath(
  storeDir: string,
  id: string,
  taps?: readonly string[],
  int8?: ActivationRanges,
): string {
  if (!taps) {
    if (int8) throw new Error('an int8 backbone graph is built for an explicit tap list');
    return join(storeDir, 'backbones', `${id}.onnx`);
  }
  const h = createHash('sha256')
    .update(`v1|${taps.join(',')}`)
    .digest('hex')
    .slice(0, 12);
  return join(storeDir, 'backbones', `${id}.t${h}${int8 ? `.int8-${rangesId(int8)}` : ''}.onnx`);
}

const inflight = new Map<string, Promise<string>>();

/**
 * Path of the backbone's ONNX file, converting it first when missing. With `taps`, a graph whose
 * only outputs are those taps (pooling suffixes allowed, see specs.ts); without, every
 * average-pooled tap.
 */
export function ensureBackbone(
  storeDir: string,
  id: string,
  taps?: readonly string[],
  int8?: ActivationRanges,
): Promise<string> {
  const path = backbonePath(storeDir, id, taps, int8);
  let p = inflight.get(path);
  if (!p) {
    p = build(path, parseBackboneId(id), taps, int8).finally(() => inflight.delete(path));
    inflight.set(path, p);
  }
  return p;
}

async function build(
  path: string,
  spec: BackboneSpec,
  taps: readonly string[] | undefined,
  int8: ActivationRanges | undefined,
): Promise<string> {
  if (await exists(path)) return path;
  await mkdir(join(path, '..'), { recursive: true });
  // Unique temp name + rename: a concurrent process or a crash never leaves a half file at `path`.
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    await writeFile(tmp, buildBackboneOnnx(spec, taps, int8));
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
  return path;
}

async function exists(p: string): Promise<boolean> {
  try {
    return (await stat(p)).size > 0;
  } catch {
    return false;
  }
}
