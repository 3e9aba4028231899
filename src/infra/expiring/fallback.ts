import type { Logger } from '../../logger.ts';
import { MemoryExpiringStore } from './memory.ts';
import type { ExpiringStore } from './types.ts';

/**
 * The Redis store with this process's memory behind it, for a Redis outage: every write also
 * goes to memory, and a read that Redis cannot answer is answered from memory. So while Redis
 * is down, sign-ins and bearer tokens keep working (sync inference keeps serving), sessions
 * ended through this process stay ended, and failed credentials are still counted per process;
 * only what other processes wrote during the outage is unseen until Redis is back.
 */
export class FallbackExpiringStore implements ExpiringStore {
  readonly kind = 'redis' as const;
  private readonly local = new MemoryExpiringStore();
  private warnedAt = 0;

  constructor(
    private readonly shared: ExpiringStore,
    private readonly logger: Logger,
  ) {}

  private degraded(err: unknown): void {
    // One warning per minute: during an outage every request would log one.
    if (Date.now() - this.warnedAt < 60_000) return;
    this.warnedAt = Date.now();
    this.logger.warn(
      { err },
      'Redis unavailable: revocations and credential failures are answered from this process',
    );
  }

  private async both<T>(shared: () => Promise<T>, local: () => Promise<T>): Promise<T> {
    const mine = await local();
    try {
      return await shared();
    } catch (err) {
      this.degraded(err);
      return mine;
    }
  }

  flag(key: string, ttlMs: number): Promise<void> {
    return this.both(
      () => this.shared.flag(key, ttlMs),
      () => this.local.flag(key, ttlMs),
    );
  }

  async anyFlagged(keys: string[]): Promise<boolean> {
    try {
      return await this.shared.anyFlagged(keys);
    } catch (err) {
      this.degraded(err);
      return this.local.anyFlagged(keys);
    }
  }

  increment(key: string, ttlMs: number): Promise<number> {
    return this.both(
      () => this.shared.increment(key, ttlMs),
      () => this.local.increment(key, ttlMs),
    );
  }

  async count(key: string): Promise<{ value: number; ttlMs: number }> {
    try {
      return await this.shared.count(key);
    } catch (err) {
      this.degraded(err);
      return this.local.count(key);
    }
  }
}
