import {
  copyFile,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Database, Transaction } from '../../db/client.ts';
import { taskFileParts, taskFiles } from '../../db/schema.ts';

/** A task's input file: its bytes, or a file an upload was spooled to (in `spoolDir`). */
export type TaskInputFile = { filename: string; data: Buffer } | { filename: string; path: string };

/**
 * Where a task's input files (images of a batch) live. Rows in task_files always name them; the
 * bytes go where writing them costs the event loop nothing: into PostgreSQL (the server parses
 * them, and every worker machine can read them), or into files on the embedded database, whose
 * engine runs on the main thread and took seconds per megabyte of bytea.
 */
export interface TaskInputs {
  readonly kind: 'database' | 'files';
  /**
   * Where an upload is written as it arrives, before its task exists; `put` takes such a file
   * over (a rename, with the file-backed inputs), so a large image is never held in memory.
   */
  readonly spoolDir: string;
  /** Stores (or moves into place) what can be stored before the task's rows are written. */
  put(taskId: string, files: TaskInputFile[]): Promise<void>;
  /** Writes what `put` left out, in the transaction that inserted the rows. */
  complete(tx: Transaction, taskId: string, files: TaskInputFile[]): Promise<void>;
  read(taskId: string, position: number): Promise<Buffer | undefined>;
  /** Drops the bytes of tasks that are gone (their rows cascade with the task). */
  remove(taskIds: string[]): Promise<void>;
}

/** Bytes per statement each way: a part is read as 512 KB of hex, a few ms to decode. */
const SLICE = 256 * 1024;

/**
 * The bytes in task_file_parts, a part per row: writing is linear in the size (appending to one
 * bytea rewrote it per slice: seconds for 20 MB) and reading decodes a part per query.
 */
export class DatabaseTaskInputs implements TaskInputs {
  readonly kind = 'database';

  constructor(
    private readonly db: Database,
    readonly spoolDir: string,
  ) {}

  async put(): Promise<void> {}

  async complete(tx: Transaction, taskId: string, files: TaskInputFile[]): Promise<void> {
    for (const [position, f] of files.entries()) {
      // A spooled upload is read here, off the event loop, only now that its rows are written.
      const data = 'data' in f ? f.data : await readFile(f.path);
      for (let at = 0, part = 0; at < data.length || part === 0; at += SLICE, part += 1) {
        await tx
          .insert(taskFileParts)
          .values({ taskId, position, part, data: data.subarray(at, at + SLICE) });
      }
    }
    for (const f of files) if ('path' in f) await unlink(f.path).catch(() => {});
  }

  async read(taskId: string, position: number): Promise<Buffer | undefined> {
    const parts = await this.db
      .select({
        part: taskFileParts.part,
        length: sql<number>`octet_length(${taskFileParts.data})`,
      })
      .from(taskFileParts)
      .where(and(eq(taskFileParts.taskId, taskId), eq(taskFileParts.position, position)))
      .orderBy(asc(taskFileParts.part));
    if (!parts.length) return this.readLegacy(taskId, position);
    const out = Buffer.allocUnsafe(parts.reduce((n, p) => n + Number(p.length), 0));
    let at = 0;
    for (const p of parts) {
      const [row] = await this.db
        .select({ data: taskFileParts.data })
        .from(taskFileParts)
        .where(
          and(
            eq(taskFileParts.taskId, taskId),
            eq(taskFileParts.position, position),
            eq(taskFileParts.part, p.part),
          ),
        );
      if (!row) return undefined;
      const bytes = Buffer.isBuffer(row.data) ? row.data : Buffer.from(row.data);
      at += bytes.copy(out, at);
    }
    return out;
  }

  /** Tasks stored before task_file_parts: the bytes in task_files.data, read a slice per query. */
  private async readLegacy(taskId: string, position: number): Promise<Buffer | undefined> {
    const where = and(eq(taskFiles.taskId, taskId), eq(taskFiles.position, position));
    const [row] = await this.db
      .select({ length: sql<number>`octet_length(${taskFiles.data})` })
      .from(taskFiles)
      .where(where);
    if (!row || row.length === null) return undefined;
    const length = Number(row.length);
    const out = Buffer.allocUnsafe(length);
    for (let at = 0; at < length; at += SLICE) {
      const [slice] = await this.db
        .select({
          data: sql<Buffer>`substring(${taskFiles.data} from ${at + 1} for ${SLICE})`,
        })
        .from(taskFiles)
        .where(where);
      const bytes = slice?.data;
      if (!bytes) return undefined;
      (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes)).copy(out, at);
    }
    return out;
  }

  async remove(): Promise<void> {}
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `<root>/<task id>/<position>`: names come from ids the server made, never from the upload. */
export class FileTaskInputs implements TaskInputs {
  readonly kind = 'files';

  constructor(readonly root: string) {}

  get spoolDir(): string {
    return join(this.root, 'spool');
  }

  private dir(taskId: string): string {
    if (!UUID.test(taskId)) throw new Error(`not a task id: ${taskId}`);
    return join(this.root, taskId);
  }

  async put(taskId: string, files: TaskInputFile[]): Promise<void> {
    const dir = this.dir(taskId);
    await mkdir(dir, { recursive: true });
    try {
      for (let i = 0; i < files.length; i += 16) {
        await Promise.all(files.slice(i, i + 16).map((f, j) => place(f, join(dir, String(i + j)))));
      }
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  async complete(): Promise<void> {}

  async read(taskId: string, position: number): Promise<Buffer | undefined> {
    try {
      return await readFile(join(this.dir(taskId), String(position)));
    } catch {
      return undefined;
    }
  }

  async remove(taskIds: string[]): Promise<void> {
    for (const id of taskIds) await rm(this.dir(id), { recursive: true, force: true });
  }
}

/** Writes a file's bytes to `to`, or moves a spooled file there (copying across file systems). */
async function place(f: TaskInputFile, to: string): Promise<void> {
  if ('data' in f) return writeFile(to, f.data);
  try {
    await rename(f.path, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await copyFile(f.path, to);
    await unlink(f.path);
  }
}

/**
 * Removes spooled uploads older than `olderThanMs`: what a process killed in the middle of an
 * upload left behind (a finished or refused upload removes its own file at once).
 */
export async function sweepSpool(dir: string, olderThanMs = 3_600_000): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile() && Date.now() - info.mtimeMs > olderThanMs) {
      await rm(path, { force: true });
      removed += 1;
    }
  }
  return removed;
}
