import { randomUUID } from 'node:crypto';
import { access, cp, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { assertModelName } from '../../ml/artifact/model-name.ts';
import type { ModelStore } from './types.ts';

/** A model store in a local directory (the default: `<data dir>/models`). */
export class FsModelStore implements ModelStore {
  readonly kind = 'fs' as const;

  constructor(readonly root: string) {}

  private dir(name: string, version: number): string {
    assertModelName(name);
    if (!Number.isInteger(version) || version < 1) throw new Error(`invalid version ${version}`);
    return join(this.root, name, String(version));
  }

  async localDir(name: string, version: number): Promise<string> {
    const dir = this.dir(name, version);
    await access(join(dir, 'manifest.json'));
    return dir;
  }

  async put(name: string, version: number, fromDir: string): Promise<void> {
    const target = this.dir(name, version);
    if (resolve(fromDir) === resolve(target)) return;
    await mkdir(join(this.root, name), { recursive: true });
    // Copy under a temporary name, then rename: readers see the whole version or nothing.
    const staging = join(this.root, name, `.staging-${version}-${randomUUID().slice(0, 8)}`);
    try {
      await cp(fromDir, staging, { recursive: true });
      await rename(staging, target);
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      if (
        (err as NodeJS.ErrnoException).code === 'ENOTEMPTY' ||
        (err as NodeJS.ErrnoException).code === 'EEXIST'
      ) {
        throw new Error(`model ${name} version ${version} already exists in the store`);
      }
      throw err;
    }
  }

  async has(name: string, version: number): Promise<boolean> {
    try {
      await access(join(this.dir(name, version), 'manifest.json'));
      return true;
    } catch {
      return false;
    }
  }

  backbonesDir(): string {
    return join(this.root, 'backbones');
  }

  async ping(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const probe = join(this.root, `.ping-${process.pid}`);
    await writeFile(probe, '');
    await rm(probe, { force: true });
    await stat(this.root);
  }
}
