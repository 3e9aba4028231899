import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';

export interface SeriesPoint {
  ts: string;
  min: number;
  max: number;
  mean: number;
  count: number;
}

/** Steps a chart may ask for, smallest first; `auto` picks the smallest that fits. */
const NICE_STEPS_S = [
  1,
  5,
  10,
  30,
  60,
  300,
  600,
  900,
  1800,
  3600,
  3 * 3600,
  6 * 3600,
  12 * 3600,
  86_400,
  7 * 86_400,
];

/** At most this many points per answer. */
export const MAX_POINTS = 5_000;
/** Points `auto` aims at: enough for a chart as wide as a screen. */
const TARGET_POINTS = 720;

export class SeriesQueryError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'SeriesQueryError';
  }
}

/**
 * The longest step: a year per point already says little, and much longer steps overflow
 * PostgreSQL's interval (a 500 for ?step=9007199254740991).
 */
export const MAX_STEP_S = 366 * 86_400;

/** "30s", "5m", "1h", "1d" or plain seconds, from 1 s to MAX_STEP_S. */
export function parseStep(step: string): number | undefined {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(step.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const mult = { s: 1, m: 60, h: 3600, d: 86_400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  const seconds = n * mult;
  return seconds >= 1 && seconds <= MAX_STEP_S ? seconds : undefined;
}

export function autoStep(fromMs: number, toMs: number): number {
  const span = (toMs - fromMs) / 1000;
  return NICE_STEPS_S.find((s) => span / s <= TARGET_POINTS) ?? NICE_STEPS_S.at(-1)!;
}

type Row = { ts: Date | string; min: number; max: number; mean: number; count: number | string };

/**
 * One metric of one unit over [from, to), aggregated per step: from the raw readings for steps
 * under a minute, the per-minute rollups up to an hour, the per-hour rollups above (steps that
 * are not whole minutes or hours use the finer table).
 */
export async function readSeries(
  db: Database,
  unitId: string,
  metric: string,
  fromMs: number,
  toMs: number,
  stepS: number,
): Promise<{ step: number; source: string; items: SeriesPoint[] }> {
  if (toMs <= fromMs) throw new SeriesQueryError('querystring.to', 'to must be after from');
  const points = (toMs - fromMs) / 1000 / stepS;
  if (points > MAX_POINTS) {
    throw new SeriesQueryError(
      'querystring.step',
      `${Math.ceil(points)} points of ${stepS} s; ask for at most ${MAX_POINTS} (a larger step or a shorter window)`,
    );
  }
  const from = new Date(fromMs).toISOString();
  const to = new Date(toMs).toISOString();
  const bin = sql`date_bin(make_interval(secs => ${stepS}), ts, TIMESTAMPTZ '1970-01-01 00:00:00+00')`;
  let source: string;
  let query;
  if (stepS >= 3600 && stepS % 3600 === 0) {
    source = 'hour';
    query = sql`SELECT ${bin} AS ts, min(min) AS min, max(max) AS max, sum(sum) / sum(count) AS mean,
        sum(count) AS count
      FROM (SELECT bucket AS ts, min, max, sum, count FROM reading_rollups_hour
            WHERE unit_id = ${unitId} AND metric = ${metric}
              AND bucket >= ${from}::timestamptz AND bucket < ${to}::timestamptz) r
      GROUP BY 1 ORDER BY 1`;
  } else if (stepS >= 60 && stepS % 60 === 0) {
    source = 'minute';
    query = sql`SELECT ${bin} AS ts, min(min) AS min, max(max) AS max, sum(sum) / sum(count) AS mean,
        sum(count) AS count
      FROM (SELECT bucket AS ts, min, max, sum, count FROM reading_rollups_minute
            WHERE unit_id = ${unitId} AND metric = ${metric}
              AND bucket >= ${from}::timestamptz AND bucket < ${to}::timestamptz) r
      GROUP BY 1 ORDER BY 1`;
  } else {
    source = 'raw';
    query = sql`SELECT ${bin} AS ts, min(value) AS min, max(value) AS max, avg(value) AS mean,
        count(*) AS count
      FROM readings
      WHERE unit_id = ${unitId} AND metric = ${metric}
        AND ts >= ${from}::timestamptz AND ts < ${to}::timestamptz
      GROUP BY 1 ORDER BY 1`;
  }
  const result = (await db.execute(query)) as unknown as { rows: Row[] };
  return {
    step: stepS,
    source,
    items: result.rows.map((r) => ({
      ts: new Date(r.ts).toISOString(),
      min: Number(r.min),
      max: Number(r.max),
      mean: Number(r.mean),
      count: Number(r.count),
    })),
  };
}

type RawRow = { ts: Date | string; device_id: string; metric: string; value: number };

/**
 * Raw readings of a unit in [from, to) as CSV lines (header first), metric by metric in time
 * order, fetched in pages so an export of months never sits in memory at once.
 */
export async function* readingsCsv(
  db: Database,
  unitId: string,
  metrics: readonly string[],
  fromMs: number,
  toMs: number,
  pageSize = 10_000,
): AsyncGenerator<string> {
  yield 'ts,metric,value,device_id\n';
  const to = new Date(toMs).toISOString();
  for (const metric of metrics) {
    let after = new Date(fromMs - 1).toISOString();
    let afterDevice = 'ffffffff-ffff-ffff-ffff-ffffffffffff';
    for (;;) {
      const result = (await db.execute(sql`
        SELECT ts, device_id, metric, value FROM readings
        WHERE unit_id = ${unitId} AND metric = ${metric}
          AND (ts, device_id) > (${after}::timestamptz, ${afterDevice}::uuid)
          AND ts < ${to}::timestamptz
        ORDER BY ts, device_id LIMIT ${pageSize}`)) as unknown as { rows: RawRow[] };
      if (!result.rows.length) break;
      let chunk = '';
      for (const r of result.rows) {
        chunk += `${new Date(r.ts).toISOString()},${r.metric},${r.value},${r.device_id}\n`;
      }
      yield chunk;
      const last = result.rows.at(-1)!;
      after = new Date(last.ts).toISOString();
      afterDevice = last.device_id;
      if (result.rows.length < pageSize) break;
    }
  }
}
