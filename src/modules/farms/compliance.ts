import { type SQL, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { readingRollupsHour, readingRollupsMinute } from '../../db/schema.ts';
import { loadThresholds } from '../rules/thresholds.ts';

export interface WaterQualityCompliance {
  /** minutes_compliant / minutes_measured, or null when no ranged metric was measured. */
  compliance: number | null;
  minutes_measured: number;
  minutes_compliant: number;
  /** The metrics with a range that were judged. */
  metrics: string[];
}

/** Where a unit's water-quality compliance over a period comes from. */
export interface ComplianceSource {
  compliance(unitId: string, from: Date, to: Date): Promise<WaterQualityCompliance>;
}

/**
 * Compliance from the per-minute rollups of the readings: a minute in which some metric with a
 * range was measured counts as compliant when every such metric stayed within its range over the
 * whole minute (its minimum and maximum); compliance = compliant minutes / measured minutes. Where
 * retention already removed the minutes, the hourly rollups stand in (an hour = 60 minutes). The
 * ranges are the unit's effective thresholds (its species' cited ranges or its own overrides).
 * Derived metrics that are not stored as readings (un-ionized ammonia) are not judged here.
 */
export class RollupCompliance implements ComplianceSource {
  constructor(private readonly db: Database) {}

  async compliance(unitId: string, from: Date, to: Date): Promise<WaterQualityCompliance> {
    const thresholds = await loadThresholds(this.db, unitId);
    const ranged = Object.entries(thresholds).filter(([, r]) => r.min !== null || r.max !== null);
    if (!ranged.length) {
      return { compliance: null, minutes_measured: 0, minutes_compliant: 0, metrics: [] };
    }
    const r = readingRollupsMinute;
    const h = readingRollupsHour;
    const ranges = sql.join(
      ranged.map(
        ([metric, range]) => sql`(${metric}::text, ${range.min}::float8, ${range.max}::float8)`,
      ),
      sql`, `,
    );
    const lo = sql`${from.toISOString()}::timestamptz`;
    const hi = sql`${to.toISOString()}::timestamptz`;
    const within = (min: SQL, max: SQL) =>
      sql`bool_and((g.lo is null or ${min} >= g.lo) and (g.hi is null or ${max} <= g.hi))`;
    // Hours whose minute rollups retention already removed count as 60 minutes, judged by the hour's
    // minimum and maximum.
    const result = await this.db.execute(sql`
      with ranges(metric, lo, hi) as (values ${ranges}),
      judged as (
        select ${r.bucket} as bucket, 1 as minutes, ${within(sql`${r.min}`, sql`${r.max}`)} as ok,
          array_agg(distinct ${r.metric}) as metrics
        from ${r} join ranges g on g.metric = ${r.metric}
        where ${r.unitId} = ${unitId} and ${r.bucket} >= ${lo} and ${r.bucket} < ${hi}
        group by ${r.bucket}
        union all
        select ${h.bucket}, 60, ${within(sql`${h.min}`, sql`${h.max}`)},
          array_agg(distinct ${h.metric})
        from ${h} join ranges g on g.metric = ${h.metric}
        where ${h.unitId} = ${unitId} and ${h.bucket} >= ${lo} and ${h.bucket} < ${hi}
          and not exists (
            select 1 from ${r} where ${r.unitId} = ${unitId}
              and ${r.bucket} >= ${h.bucket} and ${r.bucket} < ${h.bucket} + interval '1 hour')
        group by ${h.bucket}
      )
      select coalesce(sum(minutes), 0)::int as measured,
        coalesce(sum(minutes) filter (where ok), 0)::int as compliant,
        (select array_agg(distinct m) from judged, unnest(judged.metrics) m) as metrics
      from judged`);
    const row = (
      result as unknown as {
        rows: { measured: number; compliant: number; metrics: string[] | string | null }[];
      }
    ).rows[0]!;
    const measured = Number(row.measured);
    const compliant = Number(row.compliant);
    return {
      compliance: measured ? compliant / measured : null,
      minutes_measured: measured,
      minutes_compliant: compliant,
      metrics: parseArray(row.metrics).sort(),
    };
  }
}

/** A text[] as the drivers return it: an array (node-postgres) or its literal (some PGlite paths). */
function parseArray(v: string[] | string | null): string[] {
  if (!v) return [];
  if (Array.isArray(v)) return v;
  return v
    .replace(/^\{|\}$/g, '')
    .split(',')
    .filter(Boolean)
    .map((s) => s.replace(/^"|"$/g, ''));
}
