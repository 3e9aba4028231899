import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Lease } from './types.ts';

// Renew or release only while the key still holds this process's token: a lease that expired
// and went to another process is never extended or deleted by its former holder.
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1]) else return 0 end`;

/** A lease on one Redis key (SET NX PX), its value a token of this process. */
export class RedisLease implements Lease {
  readonly kind = 'redis';
  private readonly token = randomUUID();

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly ttlMs: number,
  ) {}

  async acquire(): Promise<boolean> {
    const set = await this.redis.set(this.key, this.token, 'PX', this.ttlMs, 'NX');
    // Already ours (a renew answer was lost): keep it.
    return set === 'OK' || (await this.renew());
  }

  async renew(): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.key, this.token, this.ttlMs)) === 1;
  }

  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.token);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
