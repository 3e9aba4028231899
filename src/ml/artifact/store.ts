// Writing and reading model artefact directories. A version directory is written under a
// temporary name and renamed into place, so a reader never sees a half-written model.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Head } from '../head/head.ts';
import type { Standardizer } from '../head/standardize.ts';
import type { NoveltyModel } from '../novelty.ts';
import { unpackNoveltyTensors } from '../novelty.ts';
import type { Prototypes } from '../openset.ts';
import { decodeHalf, encodeHalf } from './float16.ts';
import type { Manifest, TensorRef } from './manifest.ts';

export interface ModelParts {
  standardizer: Standardizer;
  head: Head;
  prototypes: Prototypes;
  /** The novelty model, when the manifest has one. */
  novelty?: NoveltyModel;
}

export function packHead(parts: ModelParts): {
  bytes: Uint8Array;
  tensors: Record<string, TensorRef>;
} {
  const list: [string, Float32Array, number[]][] = [
    ['feature_mean', parts.standardizer.mean, [parts.standardizer.mean.length]],
    ['feature_std', parts.standardizer.std, [parts.standardizer.std.length]],
  ];
  parts.head.layers.forEach((l, i) => {
    list.push(
      [`layer${i}.weight`, l.weight, [l.outDim, l.inDim]],
      [`layer${i}.bias`, l.bias, [l.outDim]],
    );
  });
  const total = list.reduce((a, [, t]) => a + t.length, 0);
  const all = new Float32Array(total);
  const tensors: Record<string, TensorRef> = {};
  let o = 0;
  for (const [name, t, shape] of list) {
    all.set(t, o);
    tensors[name] = { offset: o, length: t.length, shape };
    o += t.length;
  }
  return { bytes: new Uint8Array(all.buffer), tensors };
}

export async function writeArtifact(
  outDir: string,
  manifest: Manifest,
  head: Uint8Array,
  prototypes: Prototypes,
  extra: Record<string, string>,
  /** Values of `manifest.files.novelty` (written as float16). */
  novelty?: Float32Array,
): Promise<void> {
  const tmp = `${outDir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const half = encodeHalf(prototypes.vectors);
  await writeFile(join(tmp, manifest.files.head.path), head);
  await writeFile(join(tmp, manifest.files.prototypes.path), new Uint8Array(half.buffer));
  if (novelty && manifest.files.novelty)
    await writeFile(
      join(tmp, manifest.files.novelty.path),
      new Uint8Array(encodeHalf(novelty).buffer),
    );
  for (const [name, text] of Object.entries(extra)) await writeFile(join(tmp, name), text);
  await writeFile(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await mkdir(dirname(outDir), { recursive: true });
  await rm(outDir, { recursive: true, force: true });
  await rename(tmp, outDir);
}

export async function readArtifact(dir: string): Promise<{ manifest: Manifest } & ModelParts> {
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const hb = await readFile(join(dir, manifest.files.head.path));
  const f32 = new Float32Array(hb.buffer.slice(hb.byteOffset, hb.byteOffset + hb.length));
  const t = (name: string): Float32Array => {
    const r = manifest.files.head.tensors[name];
    if (!r) throw new Error(`head tensor ${name} missing in ${dir}`);
    return f32.slice(r.offset, r.offset + r.length);
  };
  const layers: Head['layers'] = [];
  for (let i = 0; manifest.files.head.tensors[`layer${i}.weight`]; i++) {
    const [outDim, inDim] = manifest.files.head.tensors[`layer${i}.weight`].shape;
    layers.push({
      weight: t(`layer${i}.weight`),
      bias: t(`layer${i}.bias`),
      inDim,
      outDim,
      relu: false,
    });
  }
  layers.forEach((l, i) => (l.relu = i < layers.length - 1));
  const pb = await readFile(join(dir, manifest.files.prototypes.path));
  const pr = manifest.files.prototypes.tensors.vectors;
  const vectors = decodeHalf(
    new Uint16Array(pb.buffer.slice(pb.byteOffset, pb.byteOffset + pb.length)),
  ).slice(pr.offset, pr.offset + pr.length);
  let novelty: NoveltyModel | undefined;
  const nf = manifest.files.novelty;
  if (nf) {
    const nb = await readFile(join(dir, nf.path));
    if (!manifest.novelty) throw new Error('files.novelty without a novelty setting');
    novelty = unpackNoveltyTensors(
      manifest.novelty.method,
      decodeHalf(new Uint16Array(nb.buffer.slice(nb.byteOffset, nb.byteOffset + nb.length))),
      nf.tensors,
    );
  }
  return {
    manifest,
    novelty,
    standardizer: { mean: t('feature_mean'), std: t('feature_std') },
    head: { kind: manifest.head.kind, layers },
    prototypes: {
      dim: pr.shape[1],
      vectors,
      classes: Int32Array.from(manifest.files.prototypes.classes),
    },
  };
}
