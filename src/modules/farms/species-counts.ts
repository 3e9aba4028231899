import { and, eq, gte, lt, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { predictions } from '../../db/schema.ts';

interface Counts {
  total: number;
  unknown: number;
  unknown_rate: number | null;
  species: { species: string; count: number }[];
}

function summarise(rows: { label: string; status: string; n: number }[]): Counts {
  let total = 0;
  let unknown = 0;
  const species = new Map<string, number>();
  for (const r of rows) {
    total += r.n;
    if (r.status === 'unknown') unknown += r.n;
    else species.set(r.label, (species.get(r.label) ?? 0) + r.n);
  }
  return {
    total,
    unknown,
    unknown_rate: total ? unknown / total : null,
    species: [...species]
      .map(([s, count]) => ({ species: s, count }))
      .sort((a, b) => b.count - a.count || a.species.localeCompare(b.species)),
  };
}

/**
 * What a unit's cameras (and anyone classifying for the unit) saw over time: predictions per
 * species and the unknown rate, in buckets of `step` seconds aligned on `from`.
 */
export async function speciesCounts(
  db: Database,
  unitId: string,
  from: Date,
  to: Date,
  step: number,
) {
  const bucket = sql<number>`extract(epoch from date_bin(make_interval(secs => ${step}), ${predictions.createdAt}, ${from.toISOString()}::timestamptz))`;
  const rows = await db
    .select({
      bucket,
      label: predictions.label,
      status: predictions.status,
      n: sql<number>`count(*)`,
    })
    .from(predictions)
    .where(
      and(
        eq(predictions.farmUnitId, unitId),
        gte(predictions.createdAt, from),
        lt(predictions.createdAt, to),
      ),
    )
    .groupBy(sql`1`, predictions.label, predictions.status) // by position: the bucket's parameters would not match
    .orderBy(sql`1`);
  const buckets = new Map<number, { label: string; status: string; n: number }[]>();
  for (const r of rows) {
    const ts = Number(r.bucket) * 1000;
    const list = buckets.get(ts) ?? [];
    list.push({ label: r.label, status: r.status, n: Number(r.n) });
    buckets.set(ts, list);
  }
  return {
    items: [...buckets].map(([ts, list]) => ({
      ts: new Date(ts).toISOString(),
      ...summarise(list),
    })),
    totals: summarise([...buckets.values()].flat()),
  };
}
