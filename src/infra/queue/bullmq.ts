import { type Job, Queue, Worker } from 'bullmq';
import type { Logger } from '../../logger.ts';
import { connectRedis } from '../redis.ts';
import {
  BACKOFF_BASE_MS,
  DEFAULT_ATTEMPTS,
  type JobHandler,
  type JobQueue,
  type QueueDepth,
} from './types.ts';

export interface BullmqOptions {
  queueName?: string;
  /**
   * How long a worker's lock on a job lasts without renewal. A worker that dies mid-job stops
   * renewing; after this the job is stalled and another worker picks it up.
   */
  lockDurationMs?: number;
  backoffBaseMs?: number;
}

/** The scale-out queue: BullMQ on Redis, shared by every api and worker process. */
export class BullmqJobQueue implements JobQueue {
  readonly kind = 'bullmq' as const;
  private readonly queue: Queue;
  private worker: Worker | undefined;
  private readonly name: string;
  /** A plain connection for health checks, so they never queue behind BullMQ's commands. */
  private readonly pinger;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    private readonly options: BullmqOptions = {},
  ) {
    this.name = options.queueName ?? 'aquaml-tasks';
    this.queue = new Queue(this.name, { connection: connectRedis(url) });
    this.pinger = connectRedis(url);
    this.queue.on('error', (err) => this.logger.warn({ err }, 'job queue error'));
  }

  async add(
    name: string,
    id: string,
    options: { attempts?: number; priority?: number } = {},
  ): Promise<void> {
    await this.queue.add(
      name,
      {},
      {
        jobId: id,
        attempts: options.attempts ?? DEFAULT_ATTEMPTS,
        backoff: { type: 'exponential', delay: this.options.backoffBaseMs ?? BACKOFF_BASE_MS },
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
    return this.worker?.cancelJob(id, 'cancelled') ?? false;
  }

  async start(handler: JobHandler, options: { concurrency: number }): Promise<void> {
    const lockDuration = this.options.lockDurationMs ?? 30_000;
    this.worker = new Worker(
      this.name,
      async (job: Job, _token?: string, signal?: AbortSignal) => {
        await handler(
          {
            id: String(job.id),
            name: job.name,
            attempt: job.attemptsMade + 1,
            maxAttempts: job.opts.attempts ?? DEFAULT_ATTEMPTS,
          },
          signal ?? new AbortController().signal,
        );
      },
      {
        connection: connectRedis(this.url, { blocking: true }),
        concurrency: Math.max(1, options.concurrency),
        lockDuration,
        stalledInterval: Math.max(1_000, Math.floor(lockDuration / 2)),
        // A job may stall a few times (worker crashes) before it counts as failed.
        maxStalledCount: 3,
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
    if (!worker) return;
    this.worker = undefined;
    let timer: NodeJS.Timeout | undefined;
    const graceful = worker.close().then(() => true);
    const ok = await Promise.race([
      graceful,
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    // Out of time: release the locks so another worker takes the jobs over at once.
    if (!ok) await worker.close(true);
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
    this.pinger.disconnect();
  }
}
