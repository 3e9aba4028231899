import { mkdir, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../logger.ts';

const SHA = /^[0-9a-f]{64}$/;

/**
 * Images the service classified, kept by content hash so operator feedback can become training
 * data later. Writes happen off the hot path and never fail a prediction.
 */
export class KeptImages {
  private readonly inFlight = new Set<string>();
  /** Shard directories known to exist (at most 256), so a write is one open-write-close. */
  private readonly shards = new Set<string>();

  constructor(
    readonly root: string,
    private readonly logger: Logger,
  ) {}

  private path(sha: string): string {
    if (!SHA.test(sha)) throw new Error(`not a sha256: ${sha}`);
    return join(this.root, sha.slice(0, 2), sha);
  }

  /** Stores the image unless it is already there; returns at once. */
  keep(sha: string, bytes: Buffer): void {
    if (this.inFlight.has(sha)) return;
    this.inFlight.add(sha);
    const path = this.path(sha);
    const shard = sha.slice(0, 2);
    const write = async () => {
      if (!this.shards.has(shard)) {
        await mkdir(join(this.root, shard), { recursive: true });
        this.shards.add(shard);
      }
      // 'wx' leaves an image that is already kept untouched (same hash, same bytes).
      await writeFile(path, bytes, { flag: 'wx' }).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') this.shards.delete(shard);
        if (err.code !== 'EEXIST') throw err;
        // Seen again: its retention counts from now, as the newest prediction may get feedback.
        const now = new Date();
        await utimes(path, now, now);
      });
    };
    void write()
      .catch((err: unknown) => this.logger.warn({ err }, 'could not keep a classified image'))
      .finally(() => this.inFlight.delete(sha));
  }

  async read(sha: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.path(sha));
    } catch {
      return undefined;
    }
  }

  /** Deletes images stored before `cutoff`; returns how many. */
  async purge(cutoff: Date): Promise<number> {
    let removed = 0;
    const dirs = await readdir(this.root).catch(() => [] as string[]);
    for (const d of dirs) {
      for (const f of await readdir(join(this.root, d)).catch(() => [] as string[])) {
        const p = join(this.root, d, f);
        const info = await stat(p).catch(() => undefined);
        if (info && info.mtime < cutoff) {
          await rm(p, { force: true });
          removed += 1;
        }
      }
    }
    return removed;
  }
}
