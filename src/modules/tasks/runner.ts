import { and, eq, gte, inArray, lt, or, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import type { Database } from '../../db/client.ts';
import { tasks } from '../../db/schema.ts';
import type { EventBus } from '../../infra/bus/types.ts';
import {
  ABORT_CANCELLED,
  ABORT_SHUTDOWN,
  type JobQueue,
  type QueueJob,
} from '../../infra/queue/types.ts';
import type { Logger } from '../../logger.ts';
import type { TaskRow } from './schema.ts';
import { inSpan } from '../../observability/tracing.ts';

/** What a handler gets besides its payload. */
export interface TaskContext {
  readonly taskId: string;
  /** 1 on the first run; counts every run started, including runs lost with a crashed worker. */
  readonly attempt: number;
  /** Fires when the task is cancelled, or when the worker stops and returns the task to the queue. */
  readonly signal: AbortSignal;
  /**
   * Reports progress (0..1) and an optional note; writes are throttled. Also a cancellation point:
   * it checks whether cancellation was requested and rejects once the run is aborted.
   */
  progress(fraction: number, note?: string): Promise<void>;
}

/** Does the work of one task type; resolves to a JSON-serialisable result. */
export type TaskHandler<P = Record<string, unknown>> = (
  payload: P,
  ctx: TaskContext,
) => Promise<unknown>;

/** Thrown by a handler for a failure that retrying cannot fix (bad payload): no further attempts. */
export class PermanentTaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentTaskError';
  }
}

/** Bus topic on which cancellation requests reach the process running the task. */
export const CANCEL_TOPIC = 'tasks.cancel';
export interface CancelMessage {
  id: string;
}

/** The run was taken over by another claim (its worker was presumed dead): it must not write. */
const ABORT_SUPERSEDED = 'superseded';

export interface TaskRunnerOptions {
  /** Waited for running tasks at stop() before they are aborted (AQUAML_WORKER_SHUTDOWN_TIMEOUT_MS). */
  shutdownTimeoutMs: number;
  /** Minimum time between two progress writes of one run. */
  progressIntervalMs?: number;
  /** How often a running task checks cancel_requested when its handler reports no progress. */
  cancelPollMs?: number;
}

const UNFINISHED = ['queued', 'running'] as const;

function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  return text.slice(0, 4000);
}

/**
 * Runs tasks: a registry of handlers by task type, fed by the job queue (job id = task id).
 *
 * The tasks table is the source of truth. Each run claims its task with one conditional UPDATE
 * that also counts the attempt; that count is the run's fencing token, so every later write of the
 * run (progress, result, failure) only lands while the task is still running under that token.
 * A result is therefore stored exactly once even when a worker presumed dead comes back.
 */
export class TaskRunner {
  private readonly handlers = new Map<string, TaskHandler>();
  private unsubscribe: (() => void) | undefined;
  private running = false;
  private readonly shutdownTimeoutMs: number;
  private readonly progressIntervalMs: number;
  private readonly cancelPollMs: number;

  constructor(
    private readonly db: Database,
    private readonly queue: JobQueue,
    private readonly bus: EventBus,
    private readonly logger: Logger,
    options: TaskRunnerOptions,
  ) {
    this.shutdownTimeoutMs = options.shutdownTimeoutMs;
    this.progressIntervalMs = options.progressIntervalMs ?? 500;
    this.cancelPollMs = options.cancelPollMs ?? 5_000;
  }

  /** Registers the handler of a task type; register every type before start(). */
  register<P = Record<string, unknown>>(type: string, handler: TaskHandler<P>): this {
    if (this.handlers.has(type)) throw new Error(`Task type ${type} is already registered`);
    this.handlers.set(type, handler as TaskHandler);
    return this;
  }

  has(type: string): boolean {
    return this.handlers.has(type);
  }

  types(): string[] {
    return [...this.handlers.keys()].sort();
  }

  get started(): boolean {
    return this.running;
  }

  /** Re-queues unfinished tasks, listens for cancellations and starts taking jobs. */
  async start(options: { concurrency: number }): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = await this.bus.subscribe<CancelMessage>(CANCEL_TOPIC, (m) => {
      if (m && typeof m.id === 'string') this.queue.abort(m.id);
    });
    const recovered = await this.recover();
    await this.queue.start(
      (job, signal) =>
        inSpan(
          'queue.process',
          { 'task.type': job.name, 'task.id': job.id },
          () => this.handle(job, signal),
          { root: true },
        ),
      options,
    );
    this.logger.info(
      { concurrency: options.concurrency, queue: this.queue.kind, types: this.types(), recovered },
      'task runner started',
    );
  }

  /**
   * Puts every task still queued or running in the database (back) on the queue: the embedded
   * queue forgets its jobs when the process ends, and a crashed worker leaves its task running.
   * Adding a job that is already waiting or running is a no-op, so this is safe to run anywhere.
   * Only types this runner can run are re-queued.
   */
  async recover(): Promise<number> {
    const types = this.types();
    if (!types.length) return 0;
    const rows = await this.db
      .select({ id: tasks.id, type: tasks.type, maxAttempts: tasks.maxAttempts })
      .from(tasks)
      .where(and(inArray(tasks.state, [...UNFINISHED]), inArray(tasks.type, types)))
      .orderBy(tasks.createdAt);
    for (const r of rows) {
      await this.queue
        .add(r.type, r.id, { attempts: r.maxAttempts })
        .catch((err: unknown) => this.logger.error({ err, task: r.id }, 'task not re-queued'));
    }
    if (rows.length) this.logger.info({ count: rows.length }, 'unfinished tasks re-queued');
    return rows.length;
  }

  /** Stops taking jobs; running ones finish, or are aborted and returned after the timeout. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.queue.stop(this.shutdownTimeoutMs);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.logger.info('task runner stopped');
  }

  private async claim(id: string): Promise<TaskRow | undefined> {
    const [row] = await this.db
      .update(tasks)
      .set({
        state: 'running',
        attempts: sql`${tasks.attempts} + 1`,
        progress: 0,
        progressNote: null,
        startedAt: sql`coalesce(${tasks.startedAt}, now())`,
        updatedAt: sql`now()`,
      })
      .where(
        and(
          eq(tasks.id, id),
          inArray(tasks.state, [...UNFINISHED]),
          eq(tasks.cancelRequested, false),
          lt(tasks.attempts, tasks.maxAttempts),
        ),
      )
      .returning();
    return row;
  }

  /** A task that cannot be claimed but is not finished: cancelled meanwhile, or out of attempts. */
  private async settleUnclaimable(id: string): Promise<void> {
    await this.db
      .update(tasks)
      .set({
        state: sql`CASE WHEN ${tasks.cancelRequested} THEN 'cancelled' ELSE 'failed' END`,
        error: sql`CASE WHEN ${tasks.cancelRequested} THEN ${tasks.error}
          ELSE 'Gave up after ' || ${tasks.attempts}
            || ' runs: the worker running it stopped before it finished' END`,
        finishedAt: sql`now()`,
        updatedAt: sql`now()`,
      })
      .where(
        and(
          eq(tasks.id, id),
          inArray(tasks.state, [...UNFINISHED]),
          or(eq(tasks.cancelRequested, true), gte(tasks.attempts, tasks.maxAttempts)),
        ),
      );
  }

  /** The condition every write of a run carries: still running, and still this run's claim. */
  private ours(id: string, attempt: number) {
    return and(eq(tasks.id, id), eq(tasks.state, 'running'), eq(tasks.attempts, attempt));
  }

  private async finish(
    id: string,
    attempt: number,
    values: PgUpdateSetSource<typeof tasks>,
  ): Promise<boolean> {
    const rows = await this.db
      .update(tasks)
      .set({ ...values, updatedAt: sql`now()` })
      .where(this.ours(id, attempt))
      .returning({ id: tasks.id });
    return rows.length > 0;
  }

  private async handle(job: QueueJob, queueSignal: AbortSignal): Promise<void> {
    // The job name is the task type. A worker without its handler (another version, another
    // deployment sharing the queue) leaves the task alone for one that has it (see recover()).
    const handler = this.handlers.get(job.name);
    if (!handler) {
      this.logger.error({ task: job.id, type: job.name }, 'no handler for this task type here');
      return;
    }
    const task = await this.claim(job.id);
    if (!task) {
      await this.settleUnclaimable(job.id);
      this.logger.debug({ task: job.id }, 'task not claimable (finished, cancelled or gone)');
      return;
    }
    const attempt = task.attempts;
    const log = this.logger.child({ task: task.id, type: task.type, attempt });

    const controller = new AbortController();
    const abort = (reason: unknown) => {
      if (!controller.signal.aborted) controller.abort(reason);
    };
    const fromQueue = () => abort(queueSignal.reason);
    if (queueSignal.aborted) fromQueue();
    else queueSignal.addEventListener('abort', fromQueue, { once: true });

    let lastCheck = 0;
    let checking: Promise<void> | undefined;
    /** Writes progress (when given) and learns whether cancellation was requested. */
    const check = (progress?: { fraction: number; note: string | null }) => {
      lastCheck = Date.now();
      const run = async () => {
        const rows = progress
          ? await this.db
              .update(tasks)
              .set({
                progress: progress.fraction,
                progressNote: progress.note,
                updatedAt: sql`now()`,
              })
              .where(this.ours(task.id, attempt))
              .returning({ cancelRequested: tasks.cancelRequested })
          : await this.db
              .select({ cancelRequested: tasks.cancelRequested })
              .from(tasks)
              .where(this.ours(task.id, attempt));
        if (!rows.length) abort(ABORT_SUPERSEDED);
        else if (rows[0]!.cancelRequested) abort(ABORT_CANCELLED);
      };
      checking = run().finally(() => (checking = undefined));
      return checking;
    };
    const poll = setInterval(() => {
      if (!checking && Date.now() - lastCheck >= this.cancelPollMs) {
        check().catch((err: unknown) => log.warn({ err }, 'cancellation check failed'));
      }
    }, this.cancelPollMs);
    poll.unref();

    const context: TaskContext = {
      taskId: task.id,
      attempt,
      signal: controller.signal,
      progress: async (fraction, note) => {
        controller.signal.throwIfAborted();
        const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
        if (Date.now() - lastCheck >= this.progressIntervalMs || f >= 1) {
          await check({ fraction: f, note: note?.slice(0, 500) ?? null });
        }
        controller.signal.throwIfAborted();
      },
    };

    log.info('task started');
    try {
      const value = await handler(task.payload, context);
      const result = JSON.stringify(value ?? null);
      // One conditional write: a cancellation requested meanwhile wins over the result.
      const stored = await this.finish(task.id, attempt, {
        state: sql`CASE WHEN ${tasks.cancelRequested} THEN 'cancelled' ELSE 'succeeded' END`,
        result: sql`CASE WHEN ${tasks.cancelRequested} THEN NULL ELSE ${result}::jsonb END`,
        progress: sql`CASE WHEN ${tasks.cancelRequested} THEN ${tasks.progress} ELSE 1 END`,
        error: null,
        finishedAt: sql`now()`,
      });
      if (stored) log.info('task finished');
      else log.warn('task result discarded: the task was taken over or finished elsewhere');
    } catch (err) {
      await this.failed(task, attempt, job, err, controller.signal, log);
    } finally {
      clearInterval(poll);
      queueSignal.removeEventListener('abort', fromQueue);
    }
  }

  private async failed(
    task: TaskRow,
    attempt: number,
    job: QueueJob,
    err: unknown,
    signal: AbortSignal,
    log: Logger,
  ): Promise<void> {
    const reason: unknown = signal.aborted ? signal.reason : undefined;
    if (reason === ABORT_SUPERSEDED) {
      log.warn('task run abandoned: another worker took the task over');
      return;
    }
    if (reason === ABORT_SHUTDOWN) {
      // The worker is stopping: give the attempt back; the queue returns the job.
      await this.db
        .update(tasks)
        .set({ state: 'queued', attempts: sql`${tasks.attempts} - 1`, updatedAt: sql`now()` })
        .where(this.ours(task.id, attempt));
      log.info('task returned to the queue (worker stopping)');
      throw err;
    }
    const [row] = await this.db
      .select({ cancelRequested: tasks.cancelRequested })
      .from(tasks)
      .where(eq(tasks.id, task.id));
    if (reason === ABORT_CANCELLED || row?.cancelRequested) {
      await this.finish(task.id, attempt, { state: 'cancelled', finishedAt: sql`now()` });
      log.info('task cancelled');
      return;
    }
    const error = messageOf(err);
    const last =
      err instanceof PermanentTaskError ||
      attempt >= task.maxAttempts ||
      job.attempt >= job.maxAttempts;
    if (last) {
      await this.finish(task.id, attempt, { state: 'failed', error, finishedAt: sql`now()` });
      log.warn({ err }, 'task failed');
      return;
    }
    // Back to queued while the queue waits out the back-off; rethrowing schedules the retry.
    await this.finish(task.id, attempt, { state: 'queued', error });
    log.warn({ err }, 'task attempt failed; it will be retried');
    throw err;
  }
}
