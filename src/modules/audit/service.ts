import type { Database } from '../../db/client.ts';
import { auditLogs } from '../../db/schema.ts';
import type { Logger } from '../../logger.ts';

export type AuditAction =
  | 'auth.login'
  | 'auth.register'
  | 'auth.logout'
  | 'auth.refresh_reuse'
  | 'user.created'
  | 'user.role_changed'
  | 'user.disabled'
  | 'user.enabled'
  | 'api_key.created'
  | 'api_key.revoked'
  | 'model.registered'
  | 'model.alias_moved'
  | 'model.archived'
  | 'model.traffic_changed'
  | 'model.rollback'
  | 'farm.created'
  | 'farm.deleted'
  | 'farm.member_set'
  | 'farm.member_removed'
  | 'device.created'
  | 'device.key_rotated'
  | 'device.updated'
  | 'device.deleted';

export interface AuditActor {
  userId?: string | null;
  apiKeyId?: string | null;
  name?: string | null;
  ip?: string | null;
  requestId?: string | null;
}

export interface AuditEvent {
  action: AuditAction;
  outcome?: 'success' | 'failure';
  actor?: AuditActor;
  targetType?: string;
  targetId?: string;
  details?: Record<string, unknown>;
}

/** Security-relevant events, kept in the database for the audit trail. */
export class AuditLog {
  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {}

  async record(event: AuditEvent): Promise<void> {
    const actor = event.actor ?? {};
    this.logger.info(
      {
        audit: event.action,
        outcome: event.outcome ?? 'success',
        actor: actor.name,
        target: event.targetId,
      },
      'audit event',
    );
    await this.db.insert(auditLogs).values({
      action: event.action,
      outcome: event.outcome ?? 'success',
      actorUserId: actor.userId ?? null,
      actorApiKeyId: actor.apiKeyId ?? null,
      actorName: actor.name ?? null,
      ip: actor.ip ?? null,
      requestId: actor.requestId ?? null,
      targetType: event.targetType ?? null,
      targetId: event.targetId ?? null,
      details: event.details ?? {},
    });
  }
}
