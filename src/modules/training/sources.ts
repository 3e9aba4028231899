import { stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';

export class DataSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataSourceError';
  }
}

/** A data folder as recorded in a manifest: relative to the first root holding it, else absolute. */
export function describeSource(path: string, roots: string[]): string {
  const full = resolve(path);
  for (const root of roots) {
    const rel = relative(resolve(root), full);
    if (rel && !rel.startsWith('..') && !isAbsolute(rel)) return rel.split(sep).join('/');
  }
  return full;
}

function inside(path: string, root: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Resolves a data folder given over the API or recorded in a manifest. Only folders under the
 * configured roots are accepted: the API must not become a way to read arbitrary server paths.
 */
export async function resolveSource(value: string, roots: string[]): Promise<string> {
  const candidates = isAbsolute(value) ? [value] : roots.map((r) => resolve(r, value));
  for (const c of candidates) {
    if (!roots.some((r) => inside(c, r))) continue;
    if ((await stat(c).catch(() => undefined))?.isDirectory()) return resolve(c);
  }
  // The roots are server paths: the message names the folder as the client gave it, never them.
  throw new DataSourceError(
    `no data folder "${value}" under the training data roots; name it relative to a root (e.g. fish-species/train), or set AQUAML_TRAINING_DATA_ROOTS to allow more`,
  );
}
