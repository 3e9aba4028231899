import { randomUUID } from 'node:crypto';
import { and, count, desc, eq, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { taskFiles, tasks, type TaskState } from '../../db/schema.ts';
import type { EventBus } from '../../infra/bus/types.ts';
import { DEFAULT_ATTEMPTS, type JobQueue } from '../../infra/queue/types.ts';
import type { Logger } from '../../logger.ts';
import { isUuid } from '../users/service.ts';
import type { TaskInputFile, TaskInputs } from './inputs.ts';
import { CANCEL_TOPIC, type CancelMessage, type TaskRunner } from './runner.ts';
import type { TaskRow } from './schema.ts';
import { inSpan } from '../../observability/tracing.ts';

export interface NewTask {
  type: string;
  payload: Record<string, unknown>;
  /** The user the task belongs to (who may read and cancel it); null for system tasks. */
  userId: string | null;
  /** The API key that asked for it (it may read and cancel it too). */
  apiKeyId?: string | null;
  /** Runs allowed before the task fails (1..20; 3 by default). */
  attempts?: number;
  /** Lower runs first, as in BullMQ (0 = default). */
  priority?: number;
  /** Input files (images for batch inference), stored with the task before it is queued. */
  files?: TaskInputFile[];
}

export interface TaskFilter {
  state?: TaskState;
  type?: string;
  userId?: string;
  apiKeyId?: string;
  limit: number;
  offset: number;
}

export interface TaskActor {
  userId?: string | null;
  name?: string | null;
}

export type CancelOutcome =
  /** It had not started: cancelled at once. */
  | { outcome: 'cancelled'; task: TaskRow }
  /** It is running: its handler was told to stop; it ends `cancelled` shortly. */
  | { outcome: 'cancel_requested'; task: TaskRow }
  /** It had already finished; nothing changed. */
  | { outcome: 'finished'; task: TaskRow };

/** A task type nobody registered a handler for. */
export class UnknownTaskTypeError extends Error {
  constructor(readonly type: string) {
    super(`Unknown task type ${type}`);
    this.name = 'UnknownTaskTypeError';
  }
}

/**
 * Creates, reads and cancels tasks: rows in the tasks table, each with a job (same id) on the queue.
 * The TaskRunner (in serve and worker processes) runs them.
 */
export class TaskService {
  constructor(
    private readonly db: Database,
    private readonly queue: JobQueue,
    private readonly bus: EventBus,
    private readonly runner: TaskRunner,
    private readonly logger: Logger,
    private readonly inputs: TaskInputs,
  ) {}

  /** Where an upload may be written before its task exists (see TaskInputs.spoolDir). */
  get spoolDir(): string {
    return this.inputs.spoolDir;
  }

  async create(input: NewTask): Promise<TaskRow> {
    if (!this.runner.has(input.type)) throw new UnknownTaskTypeError(input.type);
    const maxAttempts = Math.min(20, Math.max(1, Math.floor(input.attempts ?? DEFAULT_ATTEMPTS)));
    const id = randomUUID();
    const files = input.files ?? [];
    // The bytes first (files), then the task, its file rows and the bytes kept in the database
    // in one transaction, so a worker never sees a task without its input.
    if (files.length) await this.inputs.put(id, files);
    let task: TaskRow;
    try {
      task = await this.db.transaction(async (tx) => {
        const [row] = await tx
          .insert(tasks)
          .values({
            id,
            type: input.type,
            payload: input.payload,
            userId: input.userId,
            apiKeyId: input.apiKeyId ?? null,
            maxAttempts,
          })
          .returning();
        // One INSERT per 200 rows, so a large batch is never one statement.
        for (let i = 0; i < files.length; i += 200) {
          await tx.insert(taskFiles).values(
            files.slice(i, i + 200).map((f, j) => ({
              taskId: id,
              position: i + j,
              filename: f.filename,
            })),
          );
        }
        await this.inputs.complete(tx, id, files);
        return row!;
      });
    } catch (err) {
      await this.inputs.remove([id]).catch(() => {});
      throw err;
    }
    try {
      await inSpan('queue.enqueue', { 'task.type': task.type, 'task.id': task.id }, () =>
        this.queue.add(task.type, task.id, { attempts: maxAttempts, priority: input.priority }),
      );
    } catch (err) {
      // Without its job the task would wait for the next worker start; say so at once instead.
      await this.db
        .update(tasks)
        .set({
          state: 'failed',
          error: 'The job queue did not accept the task',
          finishedAt: sql`now()`,
          updatedAt: sql`now()`,
        })
        .where(and(eq(tasks.id, task.id), eq(tasks.state, 'queued')));
      throw err;
    }
    this.logger.debug({ task: task.id, type: task.type }, 'task queued');
    return task;
  }

  async get(id: string): Promise<TaskRow | undefined> {
    if (!isUuid(id)) return undefined;
    const [row] = await this.db.select().from(tasks).where(eq(tasks.id, id)).limit(1);
    return row;
  }

  /** Newest first. */
  async list(filter: TaskFilter): Promise<{ items: TaskRow[]; total: number }> {
    const where: SQL[] = [];
    if (filter.state) where.push(eq(tasks.state, filter.state));
    if (filter.type) where.push(eq(tasks.type, filter.type));
    if (filter.userId) where.push(eq(tasks.userId, filter.userId));
    if (filter.apiKeyId) where.push(eq(tasks.apiKeyId, filter.apiKeyId));
    const cond = where.length ? and(...where) : undefined;
    const [items, [{ total }]] = await Promise.all([
      this.db
        .select()
        .from(tasks)
        .where(cond)
        .orderBy(desc(tasks.createdAt), desc(tasks.id))
        .limit(filter.limit)
        .offset(filter.offset),
      this.db.select({ total: count() }).from(tasks).where(cond),
    ]);
    return { items, total: Number(total) };
  }

  /**
   * Cancels a task: a queued one at once (its job is removed), a running one by setting
   * cancel_requested and aborting its handler, here and (through the bus) in whichever worker
   * process runs it. Undefined when there is no such task.
   */
  async cancel(id: string, actor: TaskActor = {}): Promise<CancelOutcome | undefined> {
    if (!isUuid(id)) return undefined;
    // The state can move under us (a queued task starts, a failed attempt goes back to queued):
    // a few rounds settle it.
    for (let round = 0; round < 5; round += 1) {
      const [queued] = await this.db
        .update(tasks)
        .set({
          state: 'cancelled',
          cancelRequested: true,
          finishedAt: sql`now()`,
          updatedAt: sql`now()`,
        })
        .where(and(eq(tasks.id, id), eq(tasks.state, 'queued')))
        .returning();
      if (queued) {
        // If the job started meanwhile, its claim finds the task cancelled and skips it.
        await this.queue.remove(id).catch(() => false);
        this.logger.info({ task: id, by: actor.name ?? actor.userId }, 'queued task cancelled');
        return { outcome: 'cancelled', task: queued };
      }
      const [running] = await this.db
        .update(tasks)
        .set({ cancelRequested: true, updatedAt: sql`now()` })
        .where(and(eq(tasks.id, id), eq(tasks.state, 'running')))
        .returning();
      if (running) {
        this.queue.abort(id);
        await this.bus
          .publish<CancelMessage>(CANCEL_TOPIC, { id })
          .catch((err: unknown) =>
            this.logger.warn({ err, task: id }, 'cancel message not published; polling will do'),
          );
        this.logger.info({ task: id, by: actor.name ?? actor.userId }, 'task cancel requested');
        return { outcome: 'cancel_requested', task: running };
      }
      const task = await this.get(id);
      if (!task) return undefined;
      if (task.state !== 'queued' && task.state !== 'running') {
        return { outcome: 'finished', task };
      }
    }
    throw new Error(`Task ${id} kept changing state while being cancelled`);
  }
}
