import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import type { Logger } from '../../logger.ts';

export interface RetentionSettings {
  rawRetentionDays: number;
  minuteRetentionDays: number;
  hourRetentionDays: number;
}

const DAY_MS = 86_400_000;
/** Rows deleted per statement, so a first clean-up of a large backlog never holds long locks. */
const CHUNK = 50_000;

async function deleteOlder(db: Database, table: string, column: string, before: Date) {
  let total = 0;
  for (;;) {
    const result = (await db.execute(sql`
      DELETE FROM ${sql.identifier(table)} WHERE ctid IN (
        SELECT ctid FROM ${sql.identifier(table)}
        WHERE ${sql.identifier(column)} < ${before.toISOString()}::timestamptz LIMIT ${CHUNK})`)) as unknown as {
      rowCount?: number;
      affectedRows?: number;
    };
    const n = Number(result.rowCount ?? result.affectedRows ?? 0);
    total += n;
    if (n < CHUNK) return total;
  }
}

/** Drops raw readings and rollups past their retention; returns the rows removed per table. */
export async function applyRetention(
  db: Database,
  settings: RetentionSettings,
  now = Date.now(),
): Promise<Record<string, number>> {
  return {
    readings: await deleteOlder(
      db,
      'readings',
      'ts',
      new Date(now - settings.rawRetentionDays * DAY_MS),
    ),
    reading_rollups_minute: await deleteOlder(
      db,
      'reading_rollups_minute',
      'bucket',
      new Date(now - settings.minuteRetentionDays * DAY_MS),
    ),
    reading_rollups_hour: await deleteOlder(
      db,
      'reading_rollups_hour',
      'bucket',
      new Date(now - settings.hourRetentionDays * DAY_MS),
    ),
  };
}

/** Runs the retention every `intervalMs` in the background. */
export function scheduleRetention(
  db: Database,
  settings: RetentionSettings,
  logger: Logger,
  intervalMs = 3_600_000,
): () => void {
  const run = () =>
    applyRetention(db, settings)
      .then((removed) => {
        if (Object.values(removed).some((n) => n > 0))
          logger.info({ removed }, 'telemetry retention');
      })
      .catch((err: unknown) => logger.error({ err }, 'telemetry retention failed'));
  const first = setTimeout(run, 60_000);
  const timer = setInterval(run, intervalMs);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
