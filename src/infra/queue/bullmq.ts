import { type Job, Queue, WaitingError, Worker } from 'bullmq';
import type { Logger } from '../../logger.ts';
import { DependencyUnavailableError } from '../errors.ts';
import { connectRedis } from '../redis.ts';
import {
  ABORT_CANCELLED,
  ABORT_SHUTDOWN,
  DEFAULT_ATTEMPTS,
  type JobHandler,
  type JobQueue,
  type QueueDepth,
  type QueueOptions,
} from './types.ts';

export interface BullmqOptions extends QueueOptions {
  queueName?: string;
  /**
   * How long a worker's lock on a job lasts without renewal. A worker that dies mid-job stops
   * renewing; after this the job is stalled and another worker picks it up.
   */
  lockDurationMs: number;
  /** Namespace of the queue's Redis keys. */
  prefix: string;
}

/** How long stop() waits for aborted handlers to settle (write their state) after its timeout. */
const SETTLE_MS = 5_000;

/** The scale-out queue: BullMQ on Redis, shared by every api and worker process. */
export class BullmqJobQueue implements JobQueue {
  readonly kind = 'bullmq' as const;
  private readonly queue: Queue;
  private worker: Worker | undefined;
  /** BullMQ never closes connections it was handed, so this adapter closes its own. */
  private readonly queueConnection;
  private workerConnection: ReturnType<typeof connectRedis> | undefined;
  private readonly name: string;
  /** A plain connection for health checks, so they never queue behind BullMQ's commands. */
  private readonly pinger;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    private readonly options: BullmqOptions,
  ) {
    this.name = options.queueName ?? 'tasks';
    this.queueConnection = connectRedis(url);
    this.queue = new Queue(this.name, {
      connection: this.queueConnection,
      prefix: options.prefix,
    });
    this.pinger = connectRedis(url);
    this.queue.on('error', (err) => this.logger.warn({ err }, 'job queue error'));
  }

  async add(
    name: string,
    id: string,
    options: { attempts?: number; priority?: number } = {},
  ): Promise<void> {
    try {
      await this.enqueue(name, id, options);
    } catch (err) {
      throw new DependencyUnavailableError('redis', 'adding a job', { cause: err });
    }
  }

  private async enqueue(
    name: string,
    id: string,
    options: { attempts?: number; priority?: number },
  ): Promise<void> {
    const existing = await this.queue.getJob(id);
    if (existing) {
      const state = await existing.getState();
      if (state !== 'completed' && state !== 'failed') return;
      // A finished job kept for debugging would make the add a no-op: replace it.
      await existing.remove().catch(() => undefined);
    }
    await this.queue.add(
      name,
      {},
      {
        jobId: id,
        attempts: options.attempts ?? DEFAULT_ATTEMPTS,
        backoff: { type: 'exponential', delay: this.options.backoffBaseMs },
        priority: options.priority || undefined,
        // Results live in the tasks table; Redis keeps only a short tail for debugging.
        removeOnComplete: { count: 1000 },
        removeOnFail: { count: 1000 },
      },
    );
  }

  async remove(id: string): Promise<boolean> {
    const job = await this.queue.getJob(id);
    if (!job) return false;
    const state = await job.getState();
    if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return false;
    try {
      await job.remove();
      return true;
    } catch {
      return false; // it started between the check and the removal
    }
  }

  abort(id: string): boolean {
    return this.worker?.cancelJob(id, ABORT_CANCELLED) ?? false;
  }

  async start(handler: JobHandler, options: { concurrency: number }): Promise<void> {
    const lockDuration = this.options.lockDurationMs;
    this.workerConnection = connectRedis(this.url, { blocking: true });
    this.worker = new Worker(
      this.name,
      async (job: Job, token?: string, signal?: AbortSignal) => {
        try {
          await handler(
            {
              id: String(job.id),
              name: job.name,
              attempt: job.attemptsMade + 1,
              maxAttempts: job.opts.attempts ?? DEFAULT_ATTEMPTS,
            },
            signal ?? new AbortController().signal,
          );
        } catch (err) {
          if (signal?.reason !== ABORT_SHUTDOWN) throw err;
          // Interrupted by stop(): straight back to the queue for another worker, no attempt used.
          await job.moveToWait(token);
          throw new WaitingError();
        }
      },
      {
        connection: this.workerConnection,
        concurrency: Math.max(1, options.concurrency),
        lockDuration,
        stalledInterval: Math.max(1_000, Math.floor(lockDuration / 2)),
        // A stalled job (its worker died) always goes back to the queue: BullMQ would otherwise
        // fail it silently, without running the handler. The task runner bounds runs per task.
        maxStalledCount: 1_000_000,
        prefix: this.options.prefix,
      },
    );
    this.worker.on('error', (err) => this.logger.warn({ err }, 'job worker error'));
    this.worker.on('failed', (job, err) =>
      this.logger.warn({ err, job: job?.id, attempt: job?.attemptsMade }, 'job attempt failed'),
    );
    await this.worker.waitUntilReady();
  }

  async stop(timeoutMs = 30_000): Promise<void> {
    const worker = this.worker;
    const connection = this.workerConnection;
    if (!worker) return;
    this.worker = undefined;
    this.workerConnection = undefined;
    try {
      await this.drain(worker, timeoutMs);
    } finally {
      connection?.disconnect();
    }
  }

  private async drain(worker: Worker, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const graceful = worker.close().then(() => true);
    const ok = await Promise.race([
      graceful,
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (ok) return;
    // Out of time: abort the handlers; the processor returns each job to the queue.
    worker.cancelAllJobs(ABORT_SHUTDOWN);
    const settled = await Promise.race([
      graceful,
      new Promise<boolean>((r) => setTimeout(() => r(false), SETTLE_MS).unref()),
    ]);
    // A handler that ignores the signal: drop the connection so its lock lapses and another worker
    // takes the job over (the runner's fencing stops a late result from being stored). close()
    // is already under way, so close(true) would only return the same pending promise.
    if (!settled) {
      this.logger.warn('jobs did not stop in time; leaving them to other workers');
      await worker.disconnect().catch(() => undefined);
    }
  }

  async depth(): Promise<QueueDepth> {
    const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return {
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
    };
  }

  async ping(): Promise<void> {
    await this.pinger.ping();
  }

  async close(): Promise<void> {
    await this.stop();
    await this.queue.close();
    this.queueConnection.disconnect();
    this.pinger.disconnect();
  }
}
