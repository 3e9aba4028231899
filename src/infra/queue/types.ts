export interface QueueJob {
  /** The task id; one job per task, so adding the same id twice is a no-op. */
  id: string;
  name: string;
  /** 1 on the first run; retries count up. */
  attempt: number;
  maxAttempts: number;
}

/** Runs one job; throwing makes the queue retry it with back-off until attempts run out. */
export type JobHandler = (job: QueueJob, signal: AbortSignal) => Promise<void>;

export interface QueueDepth {
  waiting: number;
  active: number;
  delayed: number;
}

export interface JobQueue {
  readonly kind: 'memory' | 'bullmq';
  add(name: string, id: string, options?: { attempts?: number; priority?: number }): Promise<void>;
  /** Removes a job that has not started; false when it is running or gone. */
  remove(id: string): Promise<boolean>;
  /** Aborts a running job in this process (its handler's signal fires). */
  abort(id: string): boolean;
  /** Starts consuming jobs in this process. */
  start(handler: JobHandler, options: { concurrency: number }): Promise<void>;
  /** Stops taking new jobs and waits for running ones (or returns them to the queue on timeout). */
  stop(timeoutMs?: number): Promise<void>;
  depth(): Promise<QueueDepth>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_ATTEMPTS = 3;
export const BACKOFF_BASE_MS = 1_000;
