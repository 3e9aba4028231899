// A worker process for the cross-process task tests: the `worker` role (BullMQ on REDIS_URL,
// PostgreSQL on DATABASE_URL) with one slow test handler that records each run in the database.
// It shuts down like `aquaml worker`: on SIGTERM it stops taking jobs, finishes or returns the
// current one, and exits 0. It prints "ready" once it takes jobs.
import { sql } from 'drizzle-orm';
import { loadConfig } from '../../src/config.ts';
import { createContext } from '../../src/context.ts';
import type { Database } from '../../src/db/client.ts';
import type { TaskHandler } from '../../src/modules/tasks/runner.ts';

/** The task type of the slow handler (payload `{steps, step_ms}`); tests pick a unique one. */
export const SLOW_TASK = process.env.TEST_TASK_TYPE ?? 'test.slow';

/** The table where the slow handler records its runs (created by the test). */
export async function createRunsTable(db: Database): Promise<void> {
  await db.execute(sql`CREATE TABLE IF NOT EXISTS test_task_runs (
    task_id uuid NOT NULL,
    pid integer NOT NULL,
    attempt integer NOT NULL,
    event text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
  )`);
}

function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new Error(String(signal.reason)));
      },
      { once: true },
    );
  });
}

export function slowHandler(database: Database | Promise<Database>): TaskHandler {
  return async (payload, ctx) => {
    const db = await database;
    const record = (event: string) =>
      db.execute(
        sql`INSERT INTO test_task_runs (task_id, pid, attempt, event)
            VALUES (${ctx.taskId}::uuid, ${process.pid}, ${ctx.attempt}, ${event})`,
      );
    await record('started');
    const steps = Number(payload.steps ?? 10);
    const stepMs = Number(payload.step_ms ?? 200);
    try {
      for (let i = 1; i <= steps; i += 1) {
        await sleepUnlessAborted(stepMs, ctx.signal);
        await ctx.progress(i / steps, `step ${i}/${steps}`);
      }
    } catch (err) {
      await record(`aborted: ${String(ctx.signal.reason ?? err)}`);
      throw err;
    }
    await record('finished');
    return { pid: process.pid, attempt: ctx.attempt, steps };
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const config = loadConfig();
  // The handler needs the context's database, and the context needs the handler before it starts.
  let resolveDb!: (db: Database) => void;
  const db = new Promise<Database>((r) => {
    resolveDb = r;
  });
  const ctx = await createContext(config, {
    role: 'worker',
    // The test migrated the database already.
    migrate: false,
    taskHandlers: { [SLOW_TASK]: slowHandler(db) },
  });
  resolveDb(ctx.db);
  let stopping = false;
  process.once('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    ctx
      .close()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        console.error(err);
        process.exit(1);
      });
  });
  process.stdout.write('ready\n');
}
