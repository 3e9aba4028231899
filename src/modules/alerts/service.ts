import {
  and,
  asc,
  count,
  desc,
  eq,
  inArray,
  isNotNull,
  isNull,
  ne,
  or,
  type SQL,
} from 'drizzle-orm';
import type { Database, Transaction } from '../../db/client.ts';
import {
  alertEvents,
  alerts,
  type AlertSeverity,
  type AlertState,
  farmMembers,
} from '../../db/schema.ts';
import type { EventBus } from '../../infra/bus/types.ts';
import type { Logger } from '../../logger.ts';
import { ALERTS_TOPIC } from '../../serving/drift-monitor.ts';
import { hasRole, type Principal } from '../auth/authenticator.ts';
import type { AlertSink, RuleAlert } from '../rules/engine.ts';
import type { WebhookNotifier } from './webhooks.ts';

type AlertRow = typeof alerts.$inferSelect;

/** An alert as the API shows it. */
export interface AlertItem {
  id: string;
  kind: string;
  severity: AlertSeverity;
  state: AlertState;
  source: string;
  message: string;
  farm_id: string | null;
  unit_id: string | null;
  device_id: string | null;
  metric: string | null;
  opened_at: string;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  resolved_at: string | null;
  resolved_by: string | null;
  details: Record<string, unknown>;
}

export interface AlertEventItem {
  type: string;
  at: string;
  actor_user_id: string | null;
  value: number | null;
  details: Record<string, unknown>;
}

/** What travels on the alerts topic: a change to one alert, for live views and other processes. */
export interface AlertChange {
  event: 'opened' | 'acknowledged' | 'resolved';
  alert: AlertItem;
}

export class AlertError extends Error {
  constructor(
    readonly kind: 'not_found' | 'conflict',
    message: string,
  ) {
    super(message);
    this.name = 'AlertError';
  }
}

export interface AlertFilter {
  state?: AlertState;
  farmId?: string;
  unitId?: string;
  kind?: string;
  severity?: AlertSeverity;
}

const iso = (d: Date | string | null | undefined) =>
  d === null || d === undefined ? null : new Date(d).toISOString();

/** Also accepts rows that went through JSON (dates as strings), as the bus delivers them. */
export function toAlertItem(row: AlertRow): AlertItem {
  return {
    id: row.id,
    kind: row.kind,
    severity: row.severity,
    state:
      row.state ?? (row.resolvedAt ? 'resolved' : row.acknowledgedAt ? 'acknowledged' : 'open'),
    source: row.source,
    message: row.message,
    farm_id: row.farmId ?? null,
    unit_id: row.unitId ?? null,
    device_id: row.deviceId ?? null,
    metric: row.metric ?? null,
    opened_at: iso(row.openedAt ?? row.createdAt)!,
    acknowledged_at: iso(row.acknowledgedAt),
    acknowledged_by: row.acknowledgedBy ?? null,
    resolved_at: iso(row.resolvedAt),
    resolved_by: row.resolvedBy ?? null,
    details: row.details ?? {},
  };
}

/** Reads a message of the alerts topic: an AlertChange, or a raw row (the drift monitor's). */
export function toAlertChange(message: unknown): AlertChange | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const m = message as Partial<AlertChange> & Partial<AlertRow>;
  if (m.event && m.alert) return m as AlertChange;
  if (typeof m.id === 'string' && typeof m.kind === 'string') {
    return { event: 'opened', alert: toAlertItem(m as AlertRow) };
  }
  return undefined;
}

/**
 * Every alert (water quality, silent devices, model drift and accuracy) in one table, one API.
 * Farm alerts are visible to the farm's members (and admins); model alerts, which belong to no
 * farm, to admins and operators.
 */
export class AlertService implements AlertSink {
  constructor(
    private readonly db: Database,
    private readonly bus: EventBus,
    private readonly webhooks: WebhookNotifier,
    private readonly logger: Logger,
  ) {}

  // --- the rules' side ---------------------------------------------------------------------

  async open(a: RuleAlert): Promise<boolean> {
    const row = await this.changeWithEvent(
      (tx) =>
        tx
          .insert(alerts)
          .values({
            kind: a.kind,
            severity: a.severity,
            source:
              a.deviceId && a.kind === 'device_silent'
                ? `device:${a.deviceId}`
                : `unit:${a.unitId}`,
            message: a.message,
            details: a.details,
            state: 'open',
            openedAt: a.openedAt,
            farmId: a.farmId,
            unitId: a.unitId,
            deviceId: a.deviceId,
            metric: a.metric,
            ruleKey: a.ruleKey,
          })
          .onConflictDoNothing()
          .returning(),
      (r) => ({ alertId: r.id, type: 'opened', at: a.openedAt, value: a.value, details: {} }),
    );
    if (!row) return false;
    this.logger.warn({ alert: row.id, kind: a.kind, unit: a.unitId }, a.message);
    await this.announce('opened', row);
    return true;
  }

  async resolve(
    ruleKey: string,
    at: Date,
    value: number | undefined,
    reason: string,
  ): Promise<boolean> {
    const row = await this.changeWithEvent(
      (tx) =>
        tx
          .update(alerts)
          .set({ state: 'resolved', resolvedAt: at })
          .where(and(eq(alerts.ruleKey, ruleKey), ne(alerts.state, 'resolved')))
          .returning(),
      (r) => ({ alertId: r.id, type: 'resolved', at, value, details: { reason } }),
    );
    if (!row) return false;
    await this.announce('resolved', row);
    return true;
  }

  async unresolvedRuleKeys(): Promise<string[]> {
    const rows = await this.db
      .select({ key: alerts.ruleKey })
      .from(alerts)
      .where(and(isNotNull(alerts.ruleKey), ne(alerts.state, 'resolved')));
    return rows.map((r) => r.key!);
  }

  private async announce(event: AlertChange['event'], row: AlertRow): Promise<void> {
    const alert = toAlertItem(row);
    await this.bus
      .publish<AlertChange>(ALERTS_TOPIC, { event, alert })
      .catch((err: unknown) => this.logger.error({ err }, 'announcing an alert failed'));
    this.webhooks.notify(`alert.${event}`, row.id, alert);
  }

  /**
   * A change of an alert's state and its timeline event, in one transaction: a reader who sees
   * the alert opened, acknowledged or resolved finds the event on its timeline too. Undefined
   * (and no event) when `change` changed no row.
   */
  private changeWithEvent(
    change: (tx: Transaction) => Promise<AlertRow[]>,
    event: (row: AlertRow) => typeof alertEvents.$inferInsert,
  ): Promise<AlertRow | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await change(tx);
      if (row) await tx.insert(alertEvents).values(event(row));
      return row;
    });
  }

  // --- the people's side -------------------------------------------------------------------

  /** The condition limiting a principal to what it may see. */
  private async visibility(principal: Principal): Promise<SQL | undefined> {
    if (principal.role === 'admin') return undefined;
    const farms = principal.userId ? await this.memberFarms(principal.userId) : [];
    const own = farms.length ? inArray(alerts.farmId, farms) : undefined;
    const models = hasRole(principal, 'operator') ? isNull(alerts.farmId) : undefined;
    return or(own, models) ?? eq(alerts.id, '00000000-0000-0000-0000-000000000000');
  }

  private async memberFarms(userId: string): Promise<string[]> {
    const rows = await this.db
      .select({ farmId: farmMembers.farmId })
      .from(farmMembers)
      .where(eq(farmMembers.userId, userId));
    return rows.map((r) => r.farmId);
  }

  async list(
    principal: Principal,
    filter: AlertFilter,
    page: { limit: number; offset: number },
  ): Promise<{ items: AlertItem[]; total: number }> {
    const where = and(
      await this.visibility(principal),
      filter.state ? eq(alerts.state, filter.state) : undefined,
      filter.farmId ? eq(alerts.farmId, filter.farmId) : undefined,
      filter.unitId ? eq(alerts.unitId, filter.unitId) : undefined,
      filter.kind ? eq(alerts.kind, filter.kind) : undefined,
      filter.severity ? eq(alerts.severity, filter.severity) : undefined,
    );
    const [rows, [total]] = await Promise.all([
      this.db
        .select()
        .from(alerts)
        .where(where)
        .orderBy(desc(alerts.openedAt), desc(alerts.id))
        .limit(page.limit)
        .offset(page.offset),
      this.db.select({ n: count() }).from(alerts).where(where),
    ]);
    return { items: rows.map(toAlertItem), total: Number(total?.n ?? 0) };
  }

  /** One alert the principal may see; not found otherwise (never "forbidden": no existence leak). */
  async get(principal: Principal, id: string): Promise<AlertRow> {
    const [row] = await this.db
      .select()
      .from(alerts)
      .where(and(eq(alerts.id, id), await this.visibility(principal)));
    if (!row) throw new AlertError('not_found', `No alert ${id}`);
    return row;
  }

  /** May the principal see alerts of this farm (null: model alerts)? For the live stream. */
  async canSee(principal: Principal, farmId: string | null): Promise<boolean> {
    if (principal.role === 'admin') return true;
    if (farmId === null) return hasRole(principal, 'operator');
    return principal.userId ? (await this.memberFarms(principal.userId)).includes(farmId) : false;
  }

  async visibleFarms(principal: Principal): Promise<string[] | 'all'> {
    if (principal.role === 'admin') return 'all';
    return principal.userId ? this.memberFarms(principal.userId) : [];
  }

  async acknowledge(principal: Principal, id: string, note?: string): Promise<AlertItem> {
    const current = await this.get(principal, id);
    if (current.state === 'resolved') {
      throw new AlertError('conflict', 'The alert is resolved; there is nothing to acknowledge');
    }
    if (current.state === 'acknowledged') return toAlertItem(current);
    const now = new Date();
    const row = await this.changeWithEvent(
      (tx) =>
        tx
          .update(alerts)
          .set({ state: 'acknowledged', acknowledgedAt: now, acknowledgedBy: principal.userId })
          .where(and(eq(alerts.id, id), eq(alerts.state, 'open')))
          .returning(),
      () => ({
        alertId: id,
        type: 'acknowledged',
        at: now,
        actorUserId: principal.userId,
        details: note ? { note } : {},
      }),
    );
    if (!row) return toAlertItem(await this.get(principal, id));
    await this.announce('acknowledged', row);
    return toAlertItem(row);
  }

  async resolveByHand(principal: Principal, id: string, note?: string): Promise<AlertItem> {
    const current = await this.get(principal, id);
    if (current.state === 'resolved') return toAlertItem(current);
    const now = new Date();
    const row = await this.changeWithEvent(
      (tx) =>
        tx
          .update(alerts)
          .set({ state: 'resolved', resolvedAt: now, resolvedBy: principal.userId })
          .where(and(eq(alerts.id, id), ne(alerts.state, 'resolved')))
          .returning(),
      () => ({
        alertId: id,
        type: 'resolved',
        at: now,
        actorUserId: principal.userId,
        details: note ? { note } : { reason: 'resolved by hand' },
      }),
    );
    if (!row) return toAlertItem(await this.get(principal, id));
    await this.announce('resolved', row);
    return toAlertItem(row);
  }

  async timeline(principal: Principal, id: string): Promise<AlertEventItem[]> {
    const alert = await this.get(principal, id);
    const rows = await this.db
      .select()
      .from(alertEvents)
      .where(eq(alertEvents.alertId, id))
      .orderBy(asc(alertEvents.at), asc(alertEvents.id));
    const events = rows.map((e) => ({
      type: e.type,
      at: e.at.toISOString(),
      actor_user_id: e.actorUserId,
      value: e.value,
      details: e.details,
    }));
    // Alerts from before the timeline existed (and the drift monitor's) have no "opened" event.
    if (!events.some((e) => e.type === 'opened')) {
      events.unshift({
        type: 'opened',
        at: (alert.openedAt ?? alert.createdAt).toISOString(),
        actor_user_id: null,
        value: null,
        details: {},
      });
    }
    return events;
  }

  /** Records a webhook delivery on the alert's timeline. */
  async recordDelivery(alertId: string, url: string, event: string): Promise<void> {
    await this.db
      .insert(alertEvents)
      .values({ alertId, type: 'notified', details: { url, event } })
      .catch((err: unknown) => this.logger.warn({ err }, 'recording a delivery failed'));
  }
}
