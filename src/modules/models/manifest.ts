import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The fields of an artefact's manifest.json that the registry relies on; the rest is kept as is. */
export interface ManifestCore {
  name: string;
  version: number;
  task: string;
  labels: string[];
  metrics?: Record<string, unknown>;
  [key: string]: unknown;
}

export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

export async function readManifest(dir: string): Promise<ManifestCore> {
  let raw: string;
  try {
    raw = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch {
    throw new ManifestError(`${dir} has no manifest.json: not a model artefact`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ManifestError(`${dir}/manifest.json is not valid JSON`);
  }
  const m = parsed as Partial<ManifestCore>;
  if (typeof m !== 'object' || m === null)
    throw new ManifestError('manifest.json must hold an object');
  if (typeof m.name !== 'string' || !m.name) throw new ManifestError('manifest.json lacks "name"');
  if (typeof m.task !== 'string' || !m.task) throw new ManifestError('manifest.json lacks "task"');
  if (
    !Array.isArray(m.labels) ||
    m.labels.length < 2 ||
    !m.labels.every((l) => typeof l === 'string')
  ) {
    throw new ManifestError('manifest.json needs "labels": at least two class names');
  }
  return m as ManifestCore;
}

export async function writeManifest(dir: string, manifest: ManifestCore): Promise<void> {
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}
