import type { ExpiringStore } from '../../infra/expiring/types.ts';

/**
 * Wrong bearer tokens and API keys per client address. Past the budget, the address gets 429
 * before its credentials are even looked at, so guessing keys costs the guesser, not the database.
 */
export class CredentialFailures {
  constructor(
    private readonly store: ExpiringStore,
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /** Milliseconds until the address may authenticate again; 0 when it may now. */
  async blockedFor(ip: string): Promise<number> {
    const { value, ttlMs } = await this.store.count(`authfail:${ip}`);
    return value >= this.max ? Math.max(ttlMs, 1) : 0;
  }

  async record(ip: string): Promise<void> {
    await this.store.increment(`authfail:${ip}`, this.windowMs);
  }
}
