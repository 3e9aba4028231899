import { and, asc, count, desc, eq, gte, lte, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { unitLogs, type UnitLogKind } from '../../db/schema.ts';
import type { UnitLogRow, UnitRow } from './access.ts';
import { FarmEntityNotFoundError, FarmInputError } from './errors.ts';

export function toPublicLog(l: UnitLogRow) {
  return {
    id: l.id,
    unit_id: l.unitId,
    farm_id: l.farmId,
    kind: l.kind,
    occurred_at: l.occurredAt.toISOString(),
    count: l.count,
    mean_weight_g: l.meanWeightG,
    feed_kg: l.feedKg,
    feed_type: l.feedType,
    cause: l.cause,
    product: l.product,
    dose: l.dose,
    note: l.note,
    created_by: l.createdBy,
    created_at: l.createdAt.toISOString(),
    updated_by: l.updatedBy,
    updated_at: l.updatedAt.toISOString(),
  };
}

export interface LogInput {
  kind: UnitLogKind;
  occurred_at?: string;
  count?: number | null;
  mean_weight_g?: number | null;
  feed_kg?: number | null;
  feed_type?: string | null;
  cause?: string | null;
  product?: string | null;
  dose?: string | null;
  note?: string | null;
}

/** The fields each kind of entry must carry. */
const REQUIRED: Record<UnitLogKind, (keyof LogInput)[]> = {
  mortality: ['count'],
  feeding: ['feed_kg'],
  growth_sample: ['count', 'mean_weight_g'],
  treatment: ['product'],
  stocking: ['count'],
  harvest: ['count'],
};

/** Entries may be back-dated freely, but not dated ahead of the clock (beyond this skew). */
const MAX_FUTURE_MS = 5 * 60_000;

function validate(input: LogInput): void {
  for (const field of REQUIRED[input.kind]) {
    const v = input[field];
    // Zero counts nothing (and is what a JSON null becomes once the schema coerces it).
    if (v === undefined || v === null || v === '' || v === 0) {
      throw new FarmInputError(`body.${field}`, `A ${input.kind} entry needs ${field} (above 0)`);
    }
  }
  if (input.occurred_at && new Date(input.occurred_at).getTime() > Date.now() + MAX_FUTURE_MS) {
    throw new FarmInputError('body.occurred_at', 'occurred_at must not be in the future');
  }
}

export interface LogFilter {
  kind?: UnitLogKind;
  from?: Date;
  to?: Date;
}

function where(scope: SQL, f: LogFilter): SQL {
  return and(
    scope,
    f.kind ? eq(unitLogs.kind, f.kind) : undefined,
    f.from ? gte(unitLogs.occurredAt, f.from) : undefined,
    f.to ? lte(unitLogs.occurredAt, f.to) : undefined,
  )!;
}

/** Operational logs per unit: mortality, feeding, growth samples, treatments, stocking, harvests. */
export class UnitLogService {
  constructor(private readonly db: Database) {}

  async create(unit: UnitRow, input: LogInput, by: string | null): Promise<UnitLogRow> {
    validate(input);
    const [row] = await this.db
      .insert(unitLogs)
      .values({
        unitId: unit.id,
        farmId: unit.farmId,
        kind: input.kind,
        occurredAt: input.occurred_at ? new Date(input.occurred_at) : new Date(),
        count: input.count ?? null,
        meanWeightG: input.mean_weight_g ?? null,
        feedKg: input.feed_kg ?? null,
        feedType: input.feed_type ?? null,
        cause: input.cause ?? null,
        product: input.product ?? null,
        dose: input.dose ?? null,
        note: input.note ?? null,
        createdBy: by,
        updatedBy: by,
      })
      .returning();
    return row!;
  }

  async get(unitId: string, id: string): Promise<UnitLogRow> {
    const [row] = await this.db
      .select()
      .from(unitLogs)
      .where(and(eq(unitLogs.id, id), eq(unitLogs.unitId, unitId)))
      .limit(1);
    if (!row) throw new FarmEntityNotFoundError('log', id);
    return row;
  }

  async page(
    scope: { unitId: string } | { farmId: string },
    f: LogFilter,
    page: { limit: number; offset: number },
  ) {
    const w = where(
      'unitId' in scope ? eq(unitLogs.unitId, scope.unitId) : eq(unitLogs.farmId, scope.farmId),
      f,
    );
    const [items, [{ total }]] = await Promise.all([
      this.db
        .select()
        .from(unitLogs)
        .where(w)
        .orderBy(desc(unitLogs.occurredAt), desc(unitLogs.id))
        .limit(page.limit)
        .offset(page.offset),
      this.db.select({ total: count() }).from(unitLogs).where(w),
    ]);
    return { items, total: Number(total) };
  }

  /** Every entry of some units up to `to`, oldest first (KPIs replay them; CSV lists them). */
  all(scope: { unitId: string } | { farmId: string }, f: LogFilter): Promise<UnitLogRow[]> {
    const w = where(
      'unitId' in scope ? eq(unitLogs.unitId, scope.unitId) : eq(unitLogs.farmId, scope.farmId),
      f,
    );
    return this.db
      .select()
      .from(unitLogs)
      .where(w)
      .orderBy(asc(unitLogs.occurredAt), asc(unitLogs.id));
  }

  async update(
    existing: UnitLogRow,
    patch: Partial<Omit<LogInput, 'kind'>>,
    by: string | null,
  ): Promise<UnitLogRow> {
    const merged: LogInput = {
      ...toPublicLog(existing),
      ...patch,
      kind: existing.kind,
    };
    validate({ ...merged, occurred_at: patch.occurred_at });
    const [row] = await this.db
      .update(unitLogs)
      .set({
        occurredAt: merged.occurred_at ? new Date(merged.occurred_at) : existing.occurredAt,
        count: merged.count ?? null,
        meanWeightG: merged.mean_weight_g ?? null,
        feedKg: merged.feed_kg ?? null,
        feedType: merged.feed_type ?? null,
        cause: merged.cause ?? null,
        product: merged.product ?? null,
        dose: merged.dose ?? null,
        note: merged.note ?? null,
        updatedBy: by,
        updatedAt: new Date(),
      })
      .where(eq(unitLogs.id, existing.id))
      .returning();
    return row!;
  }

  async delete(id: string): Promise<void> {
    await this.db.delete(unitLogs).where(eq(unitLogs.id, id));
  }
}
