import { randomUUID } from 'node:crypto';
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { refreshTokens } from '../../db/schema.ts';
import type { AuditActor, AuditLog } from '../audit/service.ts';
import type { UserRow, UserService } from '../users/service.ts';
import type { LoginThrottle } from './login-throttle.ts';
import { burnPasswordCheck, verifyPassword } from './passwords.ts';
import type { AccessRevocations } from './revocations.ts';
import { type AccessTokens, hashSecret, newSecret } from './tokens.ts';

export interface TokenPair {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  refresh_token: string;
}

export class AuthFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthFailedError';
  }
}

export class AuthService {
  constructor(
    private readonly db: Database,
    private readonly users: UserService,
    private readonly tokens: AccessTokens,
    private readonly audit: AuditLog,
    private readonly refreshTtlSeconds: number,
    private readonly throttle: LoginThrottle,
    private readonly revocations: AccessRevocations,
  ) {}

  async login(login: string, password: string, actor: AuditActor): Promise<TokenPair> {
    const user = await this.users.findByLogin(login.trim());
    // Accounts that do not exist have a budget too, keyed by what was typed: the answers for a
    // missing and a locked account must not differ from a wrong password in any way.
    const account = user ? `user:${user.id}` : `login:${login.trim().toLowerCase()}`;
    const lockedMs = await this.throttle.lockedFor(account);
    // A locked account still pays for a password check: same time, same answer as a wrong password.
    if (!user || lockedMs > 0) await burnPasswordCheck(password);
    const ok = user && lockedMs === 0 ? await verifyPassword(user.passwordHash, password) : false;
    if (!user || !ok || !user.isActive) {
      const reason = lockedMs > 0 ? 'locked' : !user || !ok ? 'bad_credentials' : 'disabled';
      // Attempts during a lock do not extend it, so an attacker cannot keep an owner out forever.
      const budget =
        reason === 'bad_credentials' ? await this.throttle.recordFailure(account) : undefined;
      await this.audit.record({
        action: 'auth.login',
        outcome: 'failure',
        actor: { ...actor, userId: user?.id ?? null, name: login },
        details: {
          reason,
          ...(budget ? { failures: budget.failures, locked_for_ms: budget.lockedForMs } : {}),
          ...(lockedMs > 0 ? { locked_for_ms: lockedMs } : {}),
        },
      });
      // One message for every cause, so the response does not reveal which accounts exist.
      throw new AuthFailedError('Incorrect username or password, or the account is disabled');
    }
    await this.throttle.clear(account);
    await this.users.touchLogin(user.id);
    await this.audit.record({
      action: 'auth.login',
      actor: { ...actor, userId: user.id, name: user.username },
    });
    return this.issue(user, randomUUID());
  }

  /** Rotates a refresh token. Presenting an already rotated token revokes its whole family. */
  async refresh(presented: string, actor: AuditActor): Promise<TokenPair> {
    const [row] = await this.db
      .select()
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, hashSecret(presented)))
      .limit(1);
    if (!row) throw new AuthFailedError('The refresh token is invalid');
    if (row.usedAt || row.revokedAt) {
      await this.revokeFamily(row.familyId);
      if (row.usedAt && !row.revokedAt) {
        await this.audit.record({
          action: 'auth.refresh_reuse',
          outcome: 'failure',
          actor: { ...actor, userId: row.userId },
          targetType: 'refresh_token_family',
          targetId: row.familyId,
        });
      }
      throw new AuthFailedError('The refresh token was already used or revoked');
    }
    if (row.expiresAt.getTime() <= Date.now()) {
      throw new AuthFailedError('The refresh token has expired');
    }
    // Claim the token atomically: of two concurrent refreshes only one wins.
    const claimed = await this.db
      .update(refreshTokens)
      .set({ usedAt: new Date() })
      .where(and(eq(refreshTokens.id, row.id), isNull(refreshTokens.usedAt)))
      .returning({ id: refreshTokens.id });
    if (claimed.length === 0) {
      await this.revokeFamily(row.familyId);
      throw new AuthFailedError('The refresh token was already used or revoked');
    }
    const user = await this.users.findById(row.userId);
    if (!user || !user.isActive) {
      await this.revokeFamily(row.familyId);
      throw new AuthFailedError('The account is disabled');
    }
    return this.issue(user, row.familyId);
  }

  /** Ends the session of one refresh token, or every session of the user when none is given. */
  async logout(userId: string, refreshToken: string | undefined, actor: AuditActor): Promise<void> {
    if (refreshToken) {
      const [row] = await this.db
        .select({ familyId: refreshTokens.familyId, userId: refreshTokens.userId })
        .from(refreshTokens)
        .where(eq(refreshTokens.tokenHash, hashSecret(refreshToken)))
        .limit(1);
      if (row && row.userId === userId) await this.revokeFamily(row.familyId);
    } else {
      // Every access token still alive was issued with a refresh token in the last access TTL.
      const issuedSince = new Date(Date.now() - this.tokens.ttlSeconds * 1000 - 60_000);
      const live = await this.db
        .selectDistinct({ familyId: refreshTokens.familyId })
        .from(refreshTokens)
        .where(and(eq(refreshTokens.userId, userId), gt(refreshTokens.createdAt, issuedSince)));
      await this.revocations.revokeSessions(live.map((r) => r.familyId));
      await this.db
        .update(refreshTokens)
        .set({ revokedAt: new Date() })
        .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)));
    }
    await this.audit.record({ action: 'auth.logout', actor: { ...actor, userId } });
  }

  /** Ends a session: its refresh tokens and the access tokens issued with them. */
  private async revokeFamily(familyId: string): Promise<void> {
    await this.revocations.revokeSessions([familyId]);
    await this.db
      .update(refreshTokens)
      .set({ revokedAt: sql`coalesce(${refreshTokens.revokedAt}, now())` })
      .where(eq(refreshTokens.familyId, familyId));
  }

  private async issue(user: UserRow, familyId: string): Promise<TokenPair> {
    const refresh = newSecret();
    await this.db.insert(refreshTokens).values({
      userId: user.id,
      familyId,
      tokenHash: hashSecret(refresh),
      expiresAt: new Date(Date.now() + this.refreshTtlSeconds * 1000),
    });
    return {
      access_token: await this.tokens.sign({
        sub: user.id,
        role: user.role,
        username: user.username,
        sid: familyId,
      }),
      token_type: 'bearer',
      expires_in: this.tokens.ttlSeconds,
      refresh_token: refresh,
    };
  }
}
