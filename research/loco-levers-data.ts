// Shared inputs of research/loco-levers.ts: the shipped model's (int8) features of fish-species
// train/val (and mirrors) and of data/nonfish (and mirrors), and one softmax head per
// leave-one-class-out fold (fold 10 = all classes), cached in tmp/levers so that the scoring
// experiments can be rerun without re-embedding or retraining.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { backboneInt8, preprocessSpec } from '../src/ml/artifact/manifest.ts';
import { readArtifact } from '../src/ml/artifact/store.ts';
import { BackbonePool } from '../src/ml/backbone/session.ts';
import { parseBackboneId } from '../src/ml/backbone/specs.ts';
import { groupOf, listImageFolder, sha256File } from '../src/ml/data/dataset.ts';
import { embedItems } from '../src/ml/embed/embedder.ts';
import { listImagesRecursive } from '../src/ml/evaluate/evaluate-model.ts';
import type { Head } from '../src/ml/head/head.ts';
import { fitStandardizer, pack, standardize } from '../src/ml/head/standardize.ts';
import type { Standardizer } from '../src/ml/head/standardize.ts';
import { openSetFeatures } from '../src/ml/openset.ts';
import { classWeights } from '../src/ml/train/fit-heads.ts';
import { trainSoftmaxGemm } from '../src/ml/train/softmax-gemm.ts';

export const DIR = resolve('tmp/levers');

export async function loadData() {
  const DATA = resolve(process.env.AQUAML_DATASETS_DIR ?? '../shared/data', 'fish-species');
  const { manifest } = await readArtifact(resolve('models/species/1'));
  const taps = manifest.backbone.taps;
  const bspec = parseBackboneId(manifest.backbone.id);
  const spec = preprocessSpec(manifest);
  const train = await listImageFolder(join(DATA, 'train'));
  const val = await listImageFolder(join(DATA, 'val'));
  const nfPaths = await listImagesRecursive('data/nonfish');
  const nfItems = await Promise.all(
    nfPaths.map(async (path) => ({ path, label: '', sha256: await sha256File(path) })),
  );
  const pool = new BackbonePool(resolve('data/store'));
  const session = await pool.get(manifest.backbone.id, taps, backboneInt8(manifest.backbone));
  const common = { session, spec, taps, flip: true, cacheDir: resolve('data/embed-cache') };
  const tr = await embedItems(train.items, common);
  const va = await embedItems(val.items, common);
  const nf = await embedItems(nfItems, common);
  await pool.close();
  const labels = train.labels;
  const yTr = Int32Array.from(train.items, (i) => labels.indexOf(i.label));
  const os = (r: Float32Array): Float32Array =>
    openSetFeatures(r, taps, bspec.width, manifest.open_set.feature_space);
  return {
    manifest,
    labels,
    trainRaw: [...tr.original, ...tr.flipped!],
    trainY: Int32Array.from([...yTr, ...yTr]),
    trainGroup: [...train.items.map(groupOf), ...train.items.map(groupOf)],
    valRaw: va.original,
    valFlipRaw: va.flipped!,
    valY: Int32Array.from(val.items, (i) => labels.indexOf(i.label)),
    nfRaw: nf.original,
    nfFlipRaw: nf.flipped!,
    os,
    l2: Number(manifest.hyperparameters.l2),
    maxIter: Number(manifest.hyperparameters.max_iter),
  };
}
export type Data = Awaited<ReturnType<typeof loadData>>;

/** Training row indices and remapped labels of a fold (fold = labels.length: all classes). */
export function foldRows(d: Data, fold: number): { idx: number[]; y: Int32Array; k: number } {
  const left = fold < d.labels.length ? fold : -1;
  const idx = [...d.trainY.keys()].filter((i) => d.trainY[i] !== left);
  const y = Int32Array.from(idx, (i) =>
    left >= 0 && d.trainY[i] > left ? d.trainY[i] - 1 : d.trainY[i],
  );
  return { idx, y, k: left >= 0 ? d.labels.length - 1 : d.labels.length };
}

export interface FoldHead {
  st: Standardizer;
  head: Head;
}

/**
 * The fold's softmax head on standardised features (as training fits it), cached under `tag`.
 * `rowTransform` (optional) maps each standardised row before training (e.g. L2 normalisation);
 * `subset` (optional) restricts the training rows.
 */
export async function foldHead(
  d: Data,
  fold: number,
  tag: string,
  opts: { rowTransform?: (x: Float32Array) => Float32Array; subset?: (i: number) => boolean } = {},
): Promise<FoldHead> {
  const path = join(DIR, 'heads', `${tag}-${fold}.bin`);
  const dim = d.trainRaw[0].length;
  const fr = foldRows(d, fold);
  const k = fr.k;
  let { idx, y } = fr;
  if (existsSync(path)) {
    const b = await readFile(path);
    const f = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    let o = 0;
    const take = (n: number): Float32Array => Float32Array.from(f.subarray(o, (o += n)));
    const mean = take(dim);
    const std = take(dim);
    const weight = take(k * dim);
    const bias = take(k);
    return {
      st: { mean, std },
      head: {
        kind: 'softmax',
        layers: [{ weight, bias, inDim: dim, outDim: k, relu: false }],
      },
    };
  }
  if (opts.subset) {
    const keep = idx.map((i, j) => [i, j] as const).filter(([i]) => opts.subset!(i));
    y = Int32Array.from(keep, ([, j]) => y[j]);
    idx = keep.map(([i]) => i);
  }
  const rows = idx.map((i) => d.trainRaw[i]);
  const st = fitStandardizer(rows);
  const tf = opts.rowTransform ?? ((x: Float32Array) => x);
  const X = pack(rows.map((r) => tf(standardize(st, r))));
  const head = await trainSoftmaxGemm(X, y, k, {
    l2: d.l2,
    classWeights: classWeights(y, k),
    maxIter: d.maxIter,
  });
  const l = head.layers[0];
  await mkdir(join(DIR, 'heads'), { recursive: true });
  const all = new Float32Array(2 * dim + l.weight.length + l.bias.length);
  all.set(st.mean, 0);
  all.set(st.std, dim);
  all.set(l.weight, 2 * dim);
  all.set(l.bias, 2 * dim + l.weight.length);
  await writeFile(path, new Uint8Array(all.buffer));
  return { st, head };
}
