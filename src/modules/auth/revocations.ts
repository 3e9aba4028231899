import type { ExpiringStore } from '../../infra/expiring/types.ts';

/**
 * Sessions whose access tokens must stop working before they expire (logout, logout-all,
 * refresh-token reuse). An entry lives as long as an access token can, then the token's own
 * expiry takes over; through Redis every API process sees a revocation at once.
 */
export class AccessRevocations {
  constructor(
    private readonly store: ExpiringStore,
    private readonly accessTtlMs: number,
  ) {}

  async revokeSessions(sessionIds: Iterable<string>): Promise<void> {
    for (const sid of new Set(sessionIds))
      await this.store.flag(`revoked:${sid}`, this.accessTtlMs);
  }

  async isRevoked(sessionId: string | undefined): Promise<boolean> {
    if (!sessionId) return false;
    return this.store.anyFlagged([`revoked:${sessionId}`]);
  }
}
