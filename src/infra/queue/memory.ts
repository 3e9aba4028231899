import type { Logger } from '../../logger.ts';
import {
  ABORT_CANCELLED,
  ABORT_SHUTDOWN,
  DEFAULT_ATTEMPTS,
  type JobHandler,
  type JobQueue,
  type QueueDepth,
  type QueueOptions,
} from './types.ts';

/** How long stop() waits for aborted handlers to settle (write their state) after its timeout. */
const SETTLE_MS = 5_000;

interface Entry {
  id: string;
  name: string;
  attempt: number;
  maxAttempts: number;
  priority: number;
}

/**
 * The embedded queue: jobs run in this process. It keeps nothing across restarts by itself; the
 * task service re-enqueues unfinished tasks from the database at start, so no accepted job is lost.
 */
export class MemoryJobQueue implements JobQueue {
  readonly kind = 'memory' as const;
  private readonly waiting: Entry[] = [];
  private readonly delayed = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<
    string,
    { controller: AbortController; done: Promise<void> }
  >();
  private handler: JobHandler | undefined;
  private concurrency = 1;
  private accepting = false;
  private readonly backoffBaseMs: number;

  constructor(
    private readonly logger: Logger,
    options: QueueOptions,
  ) {
    this.backoffBaseMs = options.backoffBaseMs;
  }

  async add(
    name: string,
    id: string,
    options: { attempts?: number; priority?: number } = {},
  ): Promise<void> {
    if (this.has(id)) return;
    this.push({
      id,
      name,
      attempt: 1,
      maxAttempts: options.attempts ?? DEFAULT_ATTEMPTS,
      priority: options.priority ?? 0,
    });
  }

  private has(id: string): boolean {
    return this.running.has(id) || this.delayed.has(id) || this.waiting.some((e) => e.id === id);
  }

  private push(entry: Entry): void {
    // Lower priority numbers run first (as in BullMQ); equal priorities keep their order.
    const at = this.waiting.findIndex((e) => e.priority > entry.priority);
    if (at === -1) this.waiting.push(entry);
    else this.waiting.splice(at, 0, entry);
    this.pump();
  }

  async remove(id: string): Promise<boolean> {
    const i = this.waiting.findIndex((e) => e.id === id);
    if (i >= 0) {
      this.waiting.splice(i, 1);
      return true;
    }
    const timer = this.delayed.get(id);
    if (timer) {
      clearTimeout(timer);
      this.delayed.delete(id);
      return true;
    }
    return false;
  }

  abort(id: string): boolean {
    const run = this.running.get(id);
    run?.controller.abort(ABORT_CANCELLED);
    return Boolean(run);
  }

  async start(handler: JobHandler, options: { concurrency: number }): Promise<void> {
    this.handler = handler;
    this.concurrency = Math.max(1, options.concurrency);
    this.accepting = true;
    this.pump();
  }

  private pump(): void {
    while (
      this.accepting &&
      this.handler &&
      this.running.size < this.concurrency &&
      this.waiting.length
    ) {
      this.run(this.waiting.shift()!, this.handler);
    }
  }

  private run(entry: Entry, handler: JobHandler): void {
    const controller = new AbortController();
    const done = (async () => {
      try {
        await handler(
          {
            id: entry.id,
            name: entry.name,
            attempt: entry.attempt,
            maxAttempts: entry.maxAttempts,
          },
          controller.signal,
        );
      } catch (err) {
        if (controller.signal.reason === ABORT_SHUTDOWN) {
          // Interrupted by stop(): back to the front of the queue, the attempt not used up.
          this.waiting.unshift(entry);
        } else if (entry.attempt < entry.maxAttempts && !controller.signal.aborted) {
          const delay = this.backoffBaseMs * 2 ** (entry.attempt - 1);
          this.logger.warn(
            { err, job: entry.id, attempt: entry.attempt, delay },
            'job failed; retrying',
          );
          const timer = setTimeout(() => {
            this.delayed.delete(entry.id);
            this.push({ ...entry, attempt: entry.attempt + 1 });
          }, delay);
          timer.unref();
          this.delayed.set(entry.id, timer);
        }
      } finally {
        this.running.delete(entry.id);
        this.pump();
      }
    })();
    this.running.set(entry.id, { controller, done });
  }

  async stop(timeoutMs = 30_000): Promise<void> {
    this.accepting = false;
    const all = Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!timedOut) return;
    for (const r of this.running.values()) r.controller.abort(ABORT_SHUTDOWN);
    // Give the handlers a moment to notice and record that they were interrupted.
    await Promise.race([all, new Promise((r) => setTimeout(r, SETTLE_MS).unref())]);
  }

  async depth(): Promise<QueueDepth> {
    return { waiting: this.waiting.length, active: this.running.size, delayed: this.delayed.size };
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    await this.stop(0);
    for (const t of this.delayed.values()) clearTimeout(t);
    this.delayed.clear();
    this.waiting.length = 0;
  }
}
