import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import type { ModelStore } from '../../infra/store/types.ts';
import type { AuditActor } from '../audit/service.ts';
import type { Alias, ModelRegistry, ModelRow } from './registry.ts';
import { RegistryError } from './registry.ts';

/** Writes a registered version to a .tar.gz that `importModel` (on any AquaML) registers again. */
export async function exportModel(
  store: ModelStore,
  row: ModelRow,
  outFile: string,
): Promise<void> {
  const dir = await store.localDir(row.name, row.version);
  await tar.create({ gzip: true, file: outFile, cwd: dir, portable: true }, await readdir(dir));
}

/** Registers a model from an exported .tar.gz or an artefact folder, as the next version. */
export async function importModel(
  registry: ModelRegistry,
  source: string,
  options: { name?: string; alias?: Alias; actor?: AuditActor } = {},
): Promise<ModelRow> {
  let info;
  try {
    info = await stat(source);
  } catch {
    throw new RegistryError(`${source} does not exist`, 'not_found');
  }
  if (info.isDirectory()) {
    return registry.register({ fromDir: source, source: 'imported', ...options });
  }
  const staging = await mkdtemp(join(tmpdir(), 'aquaml-import-'));
  try {
    // node-tar refuses absolute paths and `..` entries, so an export file cannot write outside staging.
    await tar.extract({ file: source, cwd: staging, strict: true }).catch((err: Error) => {
      throw new RegistryError(`${source} is not a readable .tar.gz model export: ${err.message}`);
    });
    return await registry.register({ fromDir: staging, source: 'imported', ...options });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
