import { and, inArray, lt, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { predictions, tasks } from '../../db/schema.ts';
import type { TaskInputs } from './inputs.ts';
import { PermanentTaskError, type TaskHandler } from './runner.ts';

export const PURGE_TASK = 'maintenance.purge';

export interface PurgePayload {
  older_than_days: number;
}

export interface PurgeResult {
  older_than_days: number;
  cutoff: string;
  predictions_deleted: number;
  tasks_deleted: number;
}

/** Rows deleted per statement, so a large purge holds no long locks and can be cancelled. */
const BATCH = 5_000;

/**
 * `maintenance.purge`: deletes predictions, and finished tasks, older than `older_than_days`.
 * Queued and running tasks are never touched, however old.
 */
export function purgeHandler(db: Database, inputs: TaskInputs): TaskHandler<PurgePayload> {
  return async (payload, ctx) => {
    const days = payload?.older_than_days;
    if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 36_500) {
      throw new PermanentTaskError('older_than_days must be a whole number from 1 to 36500');
    }
    const cutoff = new Date(Date.now() - days * 86_400_000);

    let predictionsDeleted = 0;
    for (;;) {
      ctx.signal.throwIfAborted();
      const old = db
        .select({ id: predictions.id })
        .from(predictions)
        .where(lt(predictions.createdAt, cutoff))
        .limit(BATCH);
      const deleted = await db
        .delete(predictions)
        .where(inArray(predictions.id, old))
        .returning({ id: predictions.id });
      predictionsDeleted += deleted.length;
      if (deleted.length < BATCH) break;
      await ctx.progress(0.25, `${predictionsDeleted} predictions deleted so far`);
    }
    await ctx.progress(0.5, `${predictionsDeleted} predictions deleted`);

    let tasksDeleted = 0;
    for (;;) {
      ctx.signal.throwIfAborted();
      const old = db
        .select({ id: tasks.id })
        .from(tasks)
        .where(
          and(
            inArray(tasks.state, ['succeeded', 'failed', 'cancelled']),
            sql`coalesce(${tasks.finishedAt}, ${tasks.createdAt}) < ${cutoff.toISOString()}::timestamptz`,
          ),
        )
        .limit(BATCH);
      const deleted = await db
        .delete(tasks)
        .where(inArray(tasks.id, old))
        .returning({ id: tasks.id });
      tasksDeleted += deleted.length;
      await inputs.remove(deleted.map((d) => d.id));
      if (deleted.length < BATCH) break;
      await ctx.progress(0.75, `${tasksDeleted} finished tasks deleted so far`);
    }

    const result: PurgeResult = {
      older_than_days: days,
      cutoff: cutoff.toISOString(),
      predictions_deleted: predictionsDeleted,
      tasks_deleted: tasksDeleted,
    };
    return result;
  };
}
