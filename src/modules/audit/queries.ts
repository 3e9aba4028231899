import { and, count, desc, eq, gte, like, lte, or, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditLogs } from '../../db/schema.ts';

export type AuditRow = typeof auditLogs.$inferSelect;

export interface AuditFilter {
  /** A user or API key id, or the actor's name (a username, `cli`, `system`). */
  actor?: string;
  /** An action (`model.alias_moved`) or a family of them ending in a dot (`model.`). */
  action?: string;
  outcome?: 'success' | 'failure';
  targetType?: string;
  targetId?: string;
  from?: Date;
  to?: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function where(f: AuditFilter): SQL | undefined {
  const c: (SQL | undefined)[] = [];
  if (f.actor) {
    c.push(
      UUID.test(f.actor)
        ? or(eq(auditLogs.actorUserId, f.actor), eq(auditLogs.actorApiKeyId, f.actor))
        : eq(auditLogs.actorName, f.actor),
    );
  }
  if (f.action) {
    c.push(
      f.action.endsWith('.')
        ? like(auditLogs.action, `${f.action.replace(/[%_\\]/g, '\\$&')}%`)
        : eq(auditLogs.action, f.action),
    );
  }
  if (f.outcome) c.push(eq(auditLogs.outcome, f.outcome));
  if (f.targetType) c.push(eq(auditLogs.targetType, f.targetType));
  if (f.targetId) c.push(eq(auditLogs.targetId, f.targetId));
  if (f.from) c.push(gte(auditLogs.createdAt, f.from));
  if (f.to) c.push(lte(auditLogs.createdAt, f.to));
  return c.length ? and(...c) : undefined;
}

/** Reads the audit trail, newest first. */
export async function listAudit(
  db: Database,
  f: AuditFilter,
  page: { limit: number; offset: number },
): Promise<{ items: AuditRow[]; total: number }> {
  const w = where(f);
  const [items, [{ total }]] = await Promise.all([
    db
      .select()
      .from(auditLogs)
      .where(w)
      .orderBy(desc(auditLogs.createdAt), desc(auditLogs.id))
      .limit(page.limit)
      .offset(page.offset),
    db.select({ total: count() }).from(auditLogs).where(w),
  ]);
  return { items, total: Number(total) };
}

export function toPublicAudit(r: AuditRow) {
  return {
    id: r.id,
    created_at: r.createdAt.toISOString(),
    action: r.action,
    outcome: r.outcome,
    actor: {
      user_id: r.actorUserId,
      api_key_id: r.actorApiKeyId,
      name: r.actorName,
      ip: r.ip,
    },
    target: r.targetType || r.targetId ? { type: r.targetType, id: r.targetId } : null,
    request_id: r.requestId,
    details: r.details,
  };
}
