import type { TaskContext } from '../../src/modules/tasks/runner.ts';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `probe` returns a truthy value; fails naming `what` after the timeout. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 15_000,
  everyMs = 25,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const value = await probe();
    if (value) return value;
    last = value;
    if (Date.now() > until)
      throw new Error(`timed out waiting for ${what} (last: ${String(last)})`);
    await sleep(everyMs);
  }
}

export interface Gate {
  promise: Promise<void>;
  open(): void;
}

export function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

/** Resolves when the gate opens; rejects with the abort reason when the run is aborted first. */
export function untilOpenOrAborted(g: Gate, ctx: TaskContext): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (ctx.signal.aborted) return reject(new Error(String(ctx.signal.reason)));
    ctx.signal.addEventListener('abort', () => reject(new Error(String(ctx.signal.reason))), {
      once: true,
    });
    void g.promise.then(resolve);
  });
}
