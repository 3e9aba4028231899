import { LRUCache } from 'lru-cache';
import type { KeyValueCache } from './types.ts';

export class MemoryCache<T extends object> implements KeyValueCache<T> {
  readonly kind = 'memory' as const;
  private readonly lru: LRUCache<string, T>;

  constructor(maxEntries: number, ttlMs: number) {
    this.lru = new LRUCache({ max: maxEntries, ttl: ttlMs });
  }

  async get(key: string): Promise<T | undefined> {
    return this.lru.get(key);
  }

  async set(key: string, value: T): Promise<void> {
    this.lru.set(key, value);
  }
}
