import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import type { Reading } from './reading.ts';

/** PostgreSQL array literal of values that never need quoting (uuids, metric names, numbers). */
const literal = (values: readonly (string | number)[]) => `{${values.join(',')}}`;

const RETRYABLE = new Set(['40P01', '40001']);

/**
 * Writes readings in one statement per batch: the raw rows (a repeated device, metric and time is
 * skipped) and, from exactly the rows that were new, the per-minute and per-hour rollups. One
 * statement, so the rollups never count a reading the raw table lacks, or the reverse.
 */
export async function insertReadings(db: Database, batch: readonly Reading[]): Promise<number> {
  if (batch.length === 0) return 0;
  const devices = literal(batch.map((r) => r.deviceId));
  const unitIds = literal(batch.map((r) => r.unitId));
  const metrics = literal(batch.map((r) => r.metric));
  const times = literal(batch.map((r) => r.ts));
  const values = literal(batch.map((r) => r.value));
  const rollup = (table: string, step: 'minute' | 'hour') => sql`
    INSERT INTO ${sql.identifier(table)} AS r (unit_id, metric, bucket, min, max, sum, count)
    SELECT unit_id, metric, date_trunc(${step}, ts, 'UTC'), min(value), max(value), sum(value), count(*)
    FROM ins GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (unit_id, metric, bucket) DO UPDATE SET
      min = LEAST(r.min, excluded.min),
      max = GREATEST(r.max, excluded.max),
      sum = r.sum + excluded.sum,
      count = r.count + excluded.count`;
  const statement = sql`
    WITH input AS (
      SELECT * FROM unnest(${devices}::uuid[], ${unitIds}::uuid[], ${metrics}::text[],
                           ${times}::float8[], ${values}::float8[])
        AS t(device_id, unit_id, metric, ms, value)
    ), ins AS (
      INSERT INTO readings (device_id, unit_id, metric, ts, value)
      SELECT device_id, unit_id, metric, to_timestamp(ms / 1000.0), value FROM input
      ORDER BY device_id, metric, ms
      ON CONFLICT DO NOTHING
      RETURNING unit_id, metric, ts, value
    ), minute AS (${rollup('reading_rollups_minute', 'minute')} RETURNING 1
    ), hour AS (${rollup('reading_rollups_hour', 'hour')} RETURNING 1
    )
    SELECT (SELECT count(*) FROM ins)::int AS inserted`;
  for (let attempt = 1; ; attempt++) {
    try {
      const result = (await db.execute(statement)) as unknown as {
        rows: { inserted: number }[];
      };
      return Number(result.rows[0]?.inserted ?? 0);
    } catch (err) {
      // Two writers updating the same rollup rows can deadlock; the loser retries.
      const code = (err as { code?: string }).code;
      if (attempt >= 5 || !code || !RETRYABLE.has(code)) throw err;
      await new Promise((r) => setTimeout(r, 10 * attempt));
    }
  }
}
