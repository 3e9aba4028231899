export interface QueueJob {
  /** The task id; one job per task, so adding the same id twice is a no-op. */
  id: string;
  name: string;
  /** 1 on the first run; retries count up. */
  attempt: number;
  maxAttempts: number;
}

/**
 * Runs one job; throwing makes the queue retry it with back-off until attempts run out. The signal
 * fires with reason `ABORT_CANCELLED` (abort(id)) or `ABORT_SHUTDOWN` (stop() ran out of time); a
 * job aborted for shutdown goes back to the queue without using up an attempt.
 */
export type JobHandler = (job: QueueJob, signal: AbortSignal) => Promise<void>;

/** The abort reason of a job cancelled through `abort(id)`. */
export const ABORT_CANCELLED = 'cancelled';
/** The abort reason of a job interrupted because its worker is stopping. */
export const ABORT_SHUTDOWN = 'shutting down';

/** Settings of both queues; their defaults live in the configuration (AQUAML_QUEUE_*). */
export interface QueueOptions {
  /** First retry delay; the n-th retry waits `backoffBaseMs * 2^(n-1)`. */
  backoffBaseMs: number;
}

export interface QueueDepth {
  waiting: number;
  active: number;
  delayed: number;
}

export interface JobQueue {
  readonly kind: 'memory' | 'bullmq';
  /**
   * Adds a job. Adding an id that is waiting, delayed or running is a no-op; an id whose job has
   * finished may be added again (the task runner's claim decides whether it really runs).
   */
  add(name: string, id: string, options?: { attempts?: number; priority?: number }): Promise<void>;
  /** Removes a job that has not started; false when it is running or gone. */
  remove(id: string): Promise<boolean>;
  /** Aborts a running job in this process (its handler's signal fires). */
  abort(id: string): boolean;
  /** Starts consuming jobs in this process. */
  start(handler: JobHandler, options: { concurrency: number }): Promise<void>;
  /**
   * Stops taking new jobs and waits for running ones; on timeout aborts them (ABORT_SHUTDOWN),
   * waits briefly for their handlers to settle, and returns them to the queue.
   */
  stop(timeoutMs?: number): Promise<void>;
  depth(): Promise<QueueDepth>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_ATTEMPTS = 3;
