import { eq, sql } from 'drizzle-orm';
import type { SecuritySettings } from '../../config.ts';
import type { Database } from '../../db/client.ts';
import { loginFailures } from '../../db/schema.ts';

export type ThrottleSettings = Pick<
  SecuritySettings,
  'loginMaxFailures' | 'loginLockoutBaseMs' | 'loginLockoutMaxMs' | 'loginFailureWindowMs'
>;

/**
 * A failure budget per account, independent of the client address: after `loginMaxFailures`
 * failures each further one locks the account for a time that doubles per failure (capped).
 * Kept in the database, so every API process sees the same budget.
 */
export class LoginThrottle {
  constructor(
    private readonly db: Database,
    private readonly settings: ThrottleSettings,
  ) {}

  /** Milliseconds the account must still wait; 0 when it may try. */
  async lockedFor(account: string, now = Date.now()): Promise<number> {
    const [row] = await this.db
      .select({ lockedUntil: loginFailures.lockedUntil })
      .from(loginFailures)
      .where(eq(loginFailures.account, account))
      .limit(1);
    return Math.max(0, (row?.lockedUntil?.getTime() ?? 0) - now);
  }

  /** Counts a failure; returns the failures so far and the lock it started (0: none). */
  async recordFailure(
    account: string,
    now = Date.now(),
  ): Promise<{ failures: number; lockedForMs: number }> {
    const { loginMaxFailures, loginLockoutBaseMs, loginLockoutMaxMs, loginFailureWindowMs } =
      this.settings;
    const at = new Date(now).toISOString();
    const forgetBefore = new Date(now - loginFailureWindowMs).toISOString();
    // One statement, so concurrent failures from many addresses all count.
    const [row] = await this.db
      .insert(loginFailures)
      .values({ account, failures: 1, lastFailureAt: new Date(now) })
      .onConflictDoUpdate({
        target: loginFailures.account,
        set: {
          failures: sql`case when ${loginFailures.lastFailureAt} < ${forgetBefore}::timestamptz then 1 else ${loginFailures.failures} + 1 end`,
          lastFailureAt: sql`${at}::timestamptz`,
        },
      })
      .returning({ failures: loginFailures.failures });
    const failures = row?.failures ?? 1;
    if (failures < loginMaxFailures) return { failures, lockedForMs: 0 };
    const doublings = Math.min(failures - loginMaxFailures, 40);
    const lockedForMs = Math.min(loginLockoutMaxMs, loginLockoutBaseMs * 2 ** doublings);
    await this.db
      .update(loginFailures)
      .set({ lockedUntil: new Date(now + lockedForMs) })
      .where(eq(loginFailures.account, account));
    return { failures, lockedForMs };
  }

  /** A successful sign-in starts the budget afresh. */
  async clear(account: string): Promise<void> {
    await this.db.delete(loginFailures).where(eq(loginFailures.account, account));
  }
}
