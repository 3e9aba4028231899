import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const SHIPPED = join(import.meta.dirname, '..', '..', 'models', 'species');

function shippedVersions(): number[] {
  if (!existsSync(SHIPPED)) return [];
  return readdirSync(SHIPPED)
    .filter((d) => /^\d+$/.test(d) && existsSync(join(SHIPPED, d, 'manifest.json')))
    .map(Number);
}

/** Suites that serve the shipped species model skip (with the reason) when it is missing. */
export const shippedModelSkip: string | false = shippedVersions().length
  ? false
  : 'no shipped model under models/species/<version>/';

/** Where the shared data sets live (../shared/data by default). */
export const DATASETS =
  process.env.AQUAML_DATASETS_DIR ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'data');
