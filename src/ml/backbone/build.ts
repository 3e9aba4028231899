// Converts the nsfwjs weights into `<storeDir>/backbones/<id>.onnx` once; later calls reuse it.
import { mkdir, rename, stat, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { graphModelToIR } from './graph-model.ts';
import { kerasToIR } from './keras.ts';
import { irToOnnx } from './onnx-writer.ts';
import { parseBackboneId } from './specs.ts';
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

export function buildBackboneOnnx(spec: BackboneSpec): Uint8Array {
  return irToOnnx(backboneIR(spec.width), {
    inputSize: spec.inputSize,
    taps: spec.taps,
    producer: 'aquaml-nsfwjs-convert',
    docString: `MobileNetV2 ${spec.width / 100} from nsfwjs (MIT), converted by AquaML; id ${spec.id}`,
  });
}

export function backbonePath(storeDir: string, id: string): string {
  return join(storeDir, 'backbones', `${id}.onnx`);
}

const inflight = new Map<string, Promise<string>>();

/** Path of the backbone's ONNX file, converting it first when missing. */
export function ensureBackbone(storeDir: string, id: string): Promise<string> {
  const path = backbonePath(storeDir, id);
  let p = inflight.get(path);
  if (!p) {
    p = build(path, parseBackboneId(id)).finally(() => inflight.delete(path));
    inflight.set(path, p);
  }
  return p;
}

async function build(path: string, spec: BackboneSpec): Promise<string> {
  if (await exists(path)) return path;
  await mkdir(join(path, '..'), { recursive: true });
  // Unique temp name + rename: a concurrent process or a crash never leaves a half file at `path`.
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    await writeFile(tmp, buildBackboneOnnx(spec));
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
