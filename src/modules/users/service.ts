import { and, asc, count, eq, or, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { isUniqueViolation } from '../../db/errors.ts';
import { refreshTokens, type Role, users } from '../../db/schema.ts';
import { hashPassword, passwordProblem } from '../auth/passwords.ts';

export type UserRow = typeof users.$inferSelect;

export interface PublicUser {
  id: string;
  email: string;
  username: string;
  full_name: string | null;
  role: Role;
  is_active: boolean;
  created_at: string;
  last_login_at: string | null;
}

export function toPublicUser(u: UserRow): PublicUser {
  return {
    id: u.id,
    email: u.email,
    username: u.username,
    full_name: u.fullName,
    role: u.role,
    is_active: u.isActive,
    created_at: u.createdAt.toISOString(),
    last_login_at: u.lastLoginAt ? u.lastLoginAt.toISOString() : null,
  };
}

/** A rule about user data was broken; `field` names the offending input. */
export class UserInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly kind: 'invalid' | 'conflict' = 'invalid',
  ) {
    super(message);
    this.name = 'UserInputError';
  }
}

export interface NewUser {
  email: string;
  username: string;
  password: string;
  fullName?: string | null;
  role?: Role;
}

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{2,39}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Listeners are told when a user's role or status changes, so caches can drop the user. */
export type UserChangeListener = (userId: string) => void;

export class UserService {
  private readonly listeners: UserChangeListener[] = [];

  constructor(private readonly db: Database) {}

  onChange(listener: UserChangeListener): void {
    this.listeners.push(listener);
  }

  private changed(userId: string): void {
    for (const l of this.listeners) l(userId);
  }

  async create(input: NewUser): Promise<UserRow> {
    const email = input.email.trim();
    const username = input.username.trim();
    if (!USERNAME.test(username)) {
      throw new UserInputError(
        'username',
        'must be 3-40 characters: letters, digits, dot, dash or underscore, starting with a letter or digit',
      );
    }
    if (!EMAIL.test(email) || email.length > 254) {
      throw new UserInputError('email', 'must be a valid email address');
    }
    const problem = passwordProblem(input.password, [username, email.split('@')[0] ?? '']);
    if (problem) throw new UserInputError('password', problem);
    await this.assertFree(username, email);
    const passwordHash = await hashPassword(input.password);
    try {
      const [row] = await this.db
        .insert(users)
        .values({
          email,
          username,
          passwordHash,
          fullName: input.fullName ?? null,
          role: input.role ?? 'viewer',
        })
        .returning();
      return row!;
    } catch (err) {
      // Two registrations raced past assertFree: the unique index decides.
      if (isUniqueViolation(err)) await this.assertFree(username, email);
      throw err;
    }
  }

  private async assertFree(username: string, email: string): Promise<void> {
    const clash = await this.db
      .select({ username: users.username, email: users.email })
      .from(users)
      .where(
        or(
          sql`lower(${users.username}) = lower(${username})`,
          sql`lower(${users.email}) = lower(${email})`,
        ),
      )
      .limit(2);
    for (const c of clash) {
      if (c.username.toLowerCase() === username.toLowerCase()) {
        throw new UserInputError('username', 'is already taken', 'conflict');
      }
      throw new UserInputError('email', 'is already registered', 'conflict');
    }
  }

  async findById(id: string): Promise<UserRow | undefined> {
    if (!isUuid(id)) return undefined;
    const [row] = await this.db.select().from(users).where(eq(users.id, id)).limit(1);
    return row;
  }

  /** Finds a user by username or email, case-insensitively. */
  async findByLogin(login: string): Promise<UserRow | undefined> {
    const [row] = await this.db
      .select()
      .from(users)
      .where(
        or(
          sql`lower(${users.username}) = lower(${login})`,
          sql`lower(${users.email}) = lower(${login})`,
        ),
      )
      .limit(1);
    return row;
  }

  async list(page: {
    limit: number;
    offset: number;
  }): Promise<{ items: UserRow[]; total: number }> {
    const [items, [{ total }]] = await Promise.all([
      this.db
        .select()
        .from(users)
        .orderBy(asc(users.createdAt))
        .limit(page.limit)
        .offset(page.offset),
      this.db.select({ total: count() }).from(users),
    ]);
    return { items, total: Number(total) };
  }

  async countAdmins(): Promise<number> {
    const [{ n }] = await this.db
      .select({ n: count() })
      .from(users)
      .where(and(eq(users.role, 'admin'), eq(users.isActive, true)));
    return Number(n);
  }

  async setRole(id: string, role: Role): Promise<UserRow | undefined> {
    const [row] = await this.db
      .update(users)
      .set({ role, updatedAt: new Date() })
      .where(eq(users.id, id))
      .returning();
    if (row) this.changed(id);
    return row;
  }

  /** Disabling also revokes every refresh token, so the user's sessions end. */
  async setActive(id: string, isActive: boolean): Promise<UserRow | undefined> {
    const [row] = await this.db
      .update(users)
      .set({ isActive, updatedAt: new Date() })
      .where(eq(users.id, id))
      .returning();
    if (row && !isActive) {
      await this.db
        .update(refreshTokens)
        .set({ revokedAt: new Date() })
        .where(and(eq(refreshTokens.userId, id), sql`${refreshTokens.revokedAt} IS NULL`));
    }
    if (row) this.changed(id);
    return row;
  }

  async touchLogin(id: string): Promise<void> {
    await this.db.update(users).set({ lastLoginAt: new Date() }).where(eq(users.id, id));
  }
}

export function isUuid(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}
