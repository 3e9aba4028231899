// What the research scripts of issues 14 and 16 start from: the shipped species model's manifest,
// graph and preprocessing, and fish-species train/val with their class indices.
import { join, resolve } from 'node:path';
import { preprocessSpec } from '../src/ml/artifact/manifest.ts';
import { readArtifact } from '../src/ml/artifact/store.ts';
import { parseBackboneId } from '../src/ml/backbone/specs.ts';
import { type ImageItem, listImageFolder } from '../src/ml/data/dataset.ts';

/**
 * `AQUAML_RESEARCH_MODEL` names another model directory, e.g. the shipped model as an earlier
 * commit had it (`git archive <commit> models/species/1 | tar -x -C tmp/before`): its manifest
 * gives the graph (int8 ranges included), the preprocessing and the recipe.
 */
export async function shippedSpecies() {
  const data = resolve(process.env.AQUAML_DATASETS_DIR ?? '../shared/data', 'fish-species');
  const { manifest } = await readArtifact(
    resolve(process.env.AQUAML_RESEARCH_MODEL ?? 'models/species/1'),
  );
  const train = await listImageFolder(join(data, 'train'));
  const val = await listImageFolder(join(data, 'val'));
  const labels = train.labels;
  const yOf = (items: readonly ImageItem[]): Int32Array =>
    Int32Array.from(items, (i) => labels.indexOf(i.label));
  return {
    manifest,
    taps: manifest.backbone.taps,
    bspec: parseBackboneId(manifest.backbone.id),
    spec: preprocessSpec(manifest),
    train,
    val,
    labels,
    yOf,
    /** The head's recipe as the manifest records it. */
    l2: Number(manifest.hyperparameters.l2),
    maxIter: Number(manifest.hyperparameters.max_iter),
  };
}
