// Images → concatenated pooled tap features, through an on-disk cache keyed by file content,
// backbone, preprocessing and taps, so a second training run re-embeds nothing.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackboneSession } from '../backbone/session.ts';
import type { ImageItem } from '../data/dataset.ts';
import { decodeRgb, flipHorizontal, specKey, toFloat } from '../preprocess.ts';
import type { PreprocessSpec } from '../preprocess.ts';

export interface EmbedOptions {
  session: BackboneSession;
  spec: PreprocessSpec;
  taps: readonly string[];
  /** Also embed the mirrored image (training on flipped copies). */
  flip: boolean;
  cacheDir?: string;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface Embeddings {
  dim: number;
  /** One vector per item (and per mirrored item when `flip`). */
  original: Float32Array[];
  flipped?: Float32Array[];
  computed: number;
  cached: number;
}

export function cacheKey(
  sha: string,
  backboneId: string,
  spec: PreprocessSpec,
  taps: readonly string[],
  flip: boolean,
  variant = 'fp32',
): string {
  // Truncation (`-b16`) does not change tap values, so it is not part of the key; an int8 graph
  // does (fp32 keys stay as they were, so existing caches still hit).
  const graph = backboneId.replace(/-b\d+$/, '') + (variant === 'fp32' ? '' : `|${variant}`);
  return createHash('sha256')
    .update(`v1|${sha}|${graph}|${specKey(spec)}|${taps.join(',')}|${flip ? 'flip' : 'orig'}`)
    .digest('hex');
}

/** Concatenate the requested taps of sample `i` from a session output. */
export function concatTaps(
  out: Record<string, Float32Array>,
  taps: readonly string[],
  n: number,
  i: number,
): Float32Array {
  const dims = taps.map((t) => out[t].length / n);
  const v = new Float32Array(dims.reduce((a, b) => a + b, 0));
  let o = 0;
  taps.forEach((t, k) => {
    v.set(out[t].subarray(i * dims[k], (i + 1) * dims[k]), o);
    o += dims[k];
  });
  return v;
}

async function readCached(path: string, dim: number): Promise<Float32Array | undefined> {
  try {
    const b = await readFile(path);
    if (dim > 0 && b.length !== dim * 4) return undefined;
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  } catch {
    return undefined;
  }
}

async function writeCached(path: string, v: Float32Array): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  await rename(tmp, path);
}

export async function embedItems(
  items: readonly ImageItem[],
  opts: EmbedOptions,
): Promise<Embeddings> {
  const { session, spec, taps } = opts;
  const variants = opts.flip ? [false, true] : [false];
  const out = variants.map(() => new Array<Float32Array>(items.length));
  const pathOf = (it: ImageItem, flip: boolean): string | undefined => {
    if (!opts.cacheDir) return undefined;
    const k = cacheKey(it.sha256, session.spec.id, spec, taps, flip, session.variant);
    return join(opts.cacheDir, k.slice(0, 2), `${k}.f32`);
  };
  let dim = 0;
  let cached = 0;
  const todo: number[] = [];
  for (let i = 0; i < items.length; i++) {
    let hit = true;
    for (let v = 0; v < variants.length; v++) {
      const p = pathOf(items[i], variants[v]);
      const vec = p ? await readCached(p, dim) : undefined;
      if (vec) {
        out[v][i] = vec;
        dim = vec.length;
      } else hit = false;
    }
    if (hit) cached++;
    else todo.push(i);
  }
  const bs = opts.batchSize ?? 16;
  const s = spec.size;
  const px = s * s * 3;
  let done = items.length - todo.length;
  opts.onProgress?.(done, items.length);
  // Decode the next batch while the current one runs: sharp works on libuv threads.
  const decode = (idx: number[]): Promise<Buffer[]> =>
    Promise.all(idx.map(async (i) => decodeRgb(await readFile(items[i].path), spec)));
  const chunks: number[][] = [];
  for (let i = 0; i < todo.length; i += bs) chunks.push(todo.slice(i, i + bs));
  let next = chunks.length ? decode(chunks[0]) : undefined;
  for (let c = 0; c < chunks.length; c++) {
    const idx = chunks[c];
    const rgb = await next!;
    next = c + 1 < chunks.length ? decode(chunks[c + 1]) : undefined;
    for (let v = 0; v < variants.length; v++) {
      const batch = new Float32Array(idx.length * px);
      rgb.forEach((r, j) => {
        const f = toFloat(r);
        batch.set(variants[v] ? flipHorizontal(f, s) : f, j * px);
      });
      const res = await session.run(batch, idx.length, taps);
      for (let j = 0; j < idx.length; j++) {
        const vec = concatTaps(res, taps, idx.length, j);
        dim = vec.length;
        out[v][idx[j]] = vec;
        const p = pathOf(items[idx[j]], variants[v]);
        if (p) await writeCached(p, vec);
      }
    }
    done += idx.length;
    opts.onProgress?.(done, items.length);
  }
  return {
    dim,
    original: out[0],
    flipped: opts.flip ? out[1] : undefined,
    computed: todo.length,
    cached,
  };
}
