import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';

export interface DirLock {
  release(): void;
}

export class DirLockedError extends Error {
  constructor(
    readonly what: string,
    readonly pid: number,
  ) {
    super(
      `The ${what} is in use by another AquaML process (pid ${pid}). Stop it first, or use its HTTP API.`,
    );
    this.name = 'DirLockedError';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** An exclusive pid lock file; a lock left by a dead process is taken over. */
export function acquireDirLock(dir: string, what: string): DirLock {
  const path = resolve(dir, 'aquaml.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.off('exit', release);
        rmSync(path, { force: true });
      };
      process.on('exit', release);
      return { release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isFinite(pid) && pid !== process.pid && isAlive(pid)) {
        throw new DirLockedError(what, pid);
      }
      if (pid === process.pid) throw new DirLockedError(what, pid);
      rmSync(path, { force: true });
    }
  }
  throw new Error(`could not lock ${path}`);
}
