import { count, desc, eq } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { apiKeys, type Role } from '../../db/schema.ts';
import { hashSecret, newSecret } from '../auth/tokens.ts';

export type ApiKeyRow = typeof apiKeys.$inferSelect;

export interface PublicApiKey {
  id: string;
  name: string;
  prefix: string;
  role: Role;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

export function toPublicApiKey(k: ApiKeyRow): PublicApiKey {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    role: k.role,
    created_at: k.createdAt.toISOString(),
    expires_at: k.expiresAt?.toISOString() ?? null,
    last_used_at: k.lastUsedAt?.toISOString() ?? null,
    revoked_at: k.revokedAt?.toISOString() ?? null,
  };
}

const KEY_PREFIX = 'aqk_';

/** API keys for cameras and sensors: shown once at creation, stored as a SHA-256 hash. */
export class ApiKeyService {
  /** last_used_at is written at most this often per key, to keep it off the hot path. */
  private readonly touched = new Map<string, number>();

  constructor(private readonly db: Database) {}

  async create(input: {
    name: string;
    role: Role;
    createdBy: string | null;
    expiresAt?: Date | null;
  }): Promise<{ key: string; row: ApiKeyRow }> {
    const secret = `${KEY_PREFIX}${newSecret(30)}`;
    const [row] = await this.db
      .insert(apiKeys)
      .values({
        name: input.name,
        role: input.role,
        prefix: secret.slice(0, KEY_PREFIX.length + 8),
        keyHash: hashSecret(secret),
        createdBy: input.createdBy,
        expiresAt: input.expiresAt ?? null,
      })
      .returning();
    return { key: secret, row: row! };
  }

  async list(page: {
    limit: number;
    offset: number;
  }): Promise<{ items: ApiKeyRow[]; total: number }> {
    const items = await this.db
      .select()
      .from(apiKeys)
      .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
      .limit(page.limit)
      .offset(page.offset);
    const [row] = await this.db.select({ n: count() }).from(apiKeys);
    return { items, total: Number(row?.n ?? 0) };
  }

  async revoke(id: string): Promise<ApiKeyRow | undefined> {
    const [row] = await this.db
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(eq(apiKeys.id, id))
      .returning();
    return row;
  }

  /** The active key matching `secret`, or undefined. */
  async lookup(secret: string): Promise<ApiKeyRow | undefined> {
    if (!secret.startsWith(KEY_PREFIX)) return undefined;
    const [row] = await this.db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.keyHash, hashSecret(secret)))
      .limit(1);
    if (!row || row.revokedAt) return undefined;
    if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) return undefined;
    return row;
  }

  async markUsed(id: string): Promise<void> {
    const now = Date.now();
    if (now - (this.touched.get(id) ?? 0) < 60_000) return;
    this.touched.set(id, now);
    await this.db
      .update(apiKeys)
      .set({ lastUsedAt: new Date(now) })
      .where(eq(apiKeys.id, id));
  }
}
