import type { Redis } from 'ioredis';
import type { ExpiringStore } from './types.ts';

export class RedisExpiringStore implements ExpiringStore {
  readonly kind = 'redis' as const;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async flag(key: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.prefix + key, '1', 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  async anyFlagged(keys: string[]): Promise<boolean> {
    if (!keys.length) return false;
    const n = await this.redis.exists(...keys.map((k) => this.prefix + k));
    return n > 0;
  }

  async increment(key: string, ttlMs: number): Promise<number> {
    const k = this.prefix + key;
    // SET NX starts the window at the first increment; later ones do not push it back.
    const replies = (await this.redis
      .multi()
      .set(k, '0', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')
      .incr(k)
      .exec()) as [Error | null, unknown][];
    return Number(replies[1]![1]);
  }

  async count(key: string): Promise<{ value: number; ttlMs: number }> {
    const k = this.prefix + key;
    const [[, raw], [, ttl]] = (await this.redis.multi().get(k).pttl(k).exec()) as [
      [Error | null, string | null],
      [Error | null, number],
    ];
    return raw === null ? { value: 0, ttlMs: 0 } : { value: Number(raw), ttlMs: Math.max(0, ttl) };
  }
}
