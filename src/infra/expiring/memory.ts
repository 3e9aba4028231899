import { LRUCache } from 'lru-cache';
import type { ExpiringStore } from './types.ts';

interface Entry {
  value: number;
  expiresAt: number;
}

export class MemoryExpiringStore implements ExpiringStore {
  readonly kind = 'memory' as const;
  // Bounded, so a flood of distinct addresses cannot grow it without limit.
  private readonly entries = new LRUCache<string, Entry>({ max: 100_000 });

  private live(key: string, now: number): Entry | undefined {
    const e = this.entries.get(key);
    if (e && e.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  async flag(key: string, ttlMs: number): Promise<void> {
    this.entries.set(key, { value: 1, expiresAt: Date.now() + ttlMs });
  }

  async anyFlagged(keys: string[]): Promise<boolean> {
    const now = Date.now();
    return keys.some((k) => this.live(k, now) !== undefined);
  }

  async increment(key: string, ttlMs: number): Promise<number> {
    const now = Date.now();
    const e = this.live(key, now) ?? { value: 0, expiresAt: now + ttlMs };
    e.value += 1;
    this.entries.set(key, e);
    return e.value;
  }

  async count(key: string): Promise<{ value: number; ttlMs: number }> {
    const now = Date.now();
    const e = this.live(key, now);
    return e ? { value: e.value, ttlMs: e.expiresAt - now } : { value: 0, ttlMs: 0 };
  }
}
