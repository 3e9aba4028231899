import type { Redis } from 'ioredis';
import type { KeyValueCache } from './types.ts';

/** Shared by every api process: a repeated image is answered from the cache whichever pod gets it. */
export class RedisCache<T> implements KeyValueCache<T> {
  readonly kind = 'redis' as const;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  async get(key: string): Promise<T | undefined> {
    try {
      const raw = await this.redis.get(this.prefix + key);
      return raw ? (JSON.parse(raw) as T) : undefined;
    } catch {
      // A cache outage must not fail predictions: treat it as a miss.
      return undefined;
    }
  }

  async set(key: string, value: T): Promise<void> {
    await this.redis
      .set(this.prefix + key, JSON.stringify(value), 'EX', this.ttlSeconds)
      .catch(() => {});
  }
}
