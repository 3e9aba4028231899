// Reads the TF.js models that nsfwjs bundles as browserify'd `.min.js` files (model JSON and
// base64 weight shards), so the project needs no model download.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { min: number; scale: number; dtype: string };
}

export interface TfjsModelJson {
  format?: string;
  modelTopology: unknown;
  weightsManifest: { paths: string[]; weights: WeightEntry[] }[];
}

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

const require = createRequire(import.meta.url);

export type NsfwjsModelDir = 'mobilenet_v2' | 'mobilenet_v2_mid';

export function nsfwjsModelPath(dir: NsfwjsModelDir): string {
  // `nsfwjs/package.json` is not exported; its CJS entry sits at dist/cjs/index.js.
  const entry = require.resolve('nsfwjs');
  return join(dirname(entry), '..', 'models', dir, 'model.min.js');
}

export function loadTfjsModel(modelJsPath: string): {
  json: TfjsModelJson;
  weights: Map<string, Tensor>;
} {
  const json = require(modelJsPath) as TfjsModelJson;
  const weights = new Map<string, Tensor>();
  for (const group of json.weightsManifest) {
    const parts = group.paths.map((p) =>
      Buffer.from(require(join(dirname(modelJsPath), `${p}.min.js`)) as string, 'base64'),
    );
    const buf = Buffer.concat(parts);
    let offset = 0;
    for (const w of group.weights) {
      const size = w.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(size);
      const q = w.quantization;
      if (q) {
        if (q.dtype !== 'uint8')
          throw new Error(`unsupported quantization ${q.dtype} for ${w.name}`);
        // Same arithmetic as tfjs-core's decodeWeights, so dequantised values match TF.js bit for bit.
        for (let i = 0; i < size; i++) data[i] = buf[offset + i] * q.scale + q.min;
        offset += size;
      } else {
        if (w.dtype !== 'float32') throw new Error(`unsupported dtype ${w.dtype} for ${w.name}`);
        const src = new Float32Array(
          buf.buffer.slice(buf.byteOffset + offset, buf.byteOffset + offset + size * 4),
        );
        data.set(src);
        offset += size * 4;
      }
      weights.set(w.name, { shape: w.shape, data });
    }
  }
  return { json, weights };
}
