/**
 * Gathers items from many small calls into few large flushes (one multi-row insert, one stream
 * entry). Each add() resolves once the flush holding its items succeeded, so callers acknowledge
 * only what is durable.
 */
export interface CoalescerOptions {
  /** Flush as soon as this many items wait. */
  maxItems: number;
  /** Or when the oldest waiting item has waited this long. */
  maxDelayMs: number;
  /** Flushes running at once; more items wait (and grow the next flush). */
  maxInFlight: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class Coalescer<T> {
  private items: T[] = [];
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly idle: (() => void)[] = [];

  constructor(
    private readonly flushItems: (items: T[]) => Promise<void>,
    private readonly options: CoalescerOptions,
  ) {}

  get pending(): number {
    return this.items.length;
  }

  add(items: readonly T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    for (const item of items) this.items.push(item);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.items.length >= this.options.maxItems) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.options.maxDelayMs);
    return done;
  }

  private kick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlight >= this.options.maxInFlight || this.items.length === 0) return;
    const items = this.items;
    const waiters = this.waiters;
    this.items = [];
    this.waiters = [];
    this.inFlight += 1;
    this.flushItems(items)
      .then(
        () => {
          for (const w of waiters) w.resolve();
        },
        (err: unknown) => {
          for (const w of waiters) w.reject(err);
        },
      )
      .finally(() => {
        this.inFlight -= 1;
        // Whatever arrived while the flush ran goes next, without waiting for a timer.
        if (this.items.length) this.kick();
        else if (this.inFlight === 0) for (const f of this.idle.splice(0)) f();
      });
  }

  /** Flushes what waits and resolves when nothing is in flight. */
  async drain(): Promise<void> {
    if (this.items.length) this.kick();
    if (this.inFlight === 0 && this.items.length === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }
}
