import type { Prediction } from '../ml/classifier.ts';

/** The batcher's queue is at AQUAML_MAX_QUEUE_SIZE: the request is refused, to be retried later. */
export class QueueFullError extends Error {
  constructor(
    /** Roughly how long the queue needs to drain. */
    readonly retryAfterSeconds: number,
  ) {
    super('The inference queue is full; retry shortly');
    this.name = 'QueueFullError';
  }
}

export interface BatchingPolicy {
  /** The most requests run together in one backbone pass. */
  maxBatchSize: number;
  /**
   * How long a request may wait for others to join its batch while the engine is idle (Triton's
   * max_queue_delay). It waits only while other requests are on their way (announced, still
   * decoding): a request with nobody behind it runs at once.
   */
  maxQueueDelayMs: number;
  /** Requests waiting beyond this are refused (QueueFullError; 503 + Retry-After): memory stays bounded. */
  maxQueueSize: number;
}

export interface BatchedResult {
  prediction: Prediction;
  queueMs: number;
  batchSize: number;
  /** The inference thread's time for the whole batch. */
  runMs: number;
}

export type BatchRunner = (
  inputs: Uint8Array[],
) => Promise<{ predictions: Prediction[]; runMs: number }>;

export interface BatchObserver {
  batch(size: number, runMs: number): void;
  queued(ms: number): void;
  rejected(): void;
}

/** A request on its way to the batcher (its image is being decoded); `submit` consumes it. */
export interface Arrival {
  /** Call when the request will not come after all (its image could not be decoded). */
  withdraw(): void;
  /** Ends the announcement without rescheduling (submit queues the request itself). */
  take(): void;
}

interface Waiting {
  input: Uint8Array;
  enqueuedAt: number;
  resolve: (r: BatchedResult) => void;
  reject: (e: Error) => void;
}

/**
 * Dynamic batching for one model version. While a batch runs, new requests queue; when it ends,
 * the queue (up to maxBatchSize) runs next, so batches grow with load by themselves. When the
 * engine is idle, the first request waits at most maxQueueDelayMs for company, and only while
 * company is known to be coming (announced requests still decoding): an idle service answers a
 * lone request without the delay, a busy one fills its batches.
 */
export class DynamicBatcher {
  private readonly queue: Waiting[] = [];
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];
  private announced = 0;

  constructor(
    private policy: BatchingPolicy,
    private readonly run: BatchRunner,
    private readonly observer?: BatchObserver,
    /** Batches allowed in the engine at once; 1 keeps batches large and the engine never idle long. */
    private readonly maxInFlight = 1,
  ) {}

  get depth(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.running;
  }

  /** Requests that may wait before new ones are refused (AQUAML_MAX_QUEUE_SIZE). */
  get capacity(): number {
    return this.policy.maxQueueSize;
  }

  updatePolicy(policy: BatchingPolicy): void {
    this.policy = policy;
  }

  /** Announces a request before its image is decoded; pass the result to `submit`. */
  announce(): Arrival {
    this.announced += 1;
    let open = true;
    const close = (): boolean => {
      if (!open) return false;
      open = false;
      this.announced -= 1;
      return true;
    };
    return {
      take: () => void close(),
      withdraw: () => {
        if (close()) this.schedule();
      },
    };
  }

  /** Queues one decoded image; `arrival` is its announcement, if it was announced. */
  submit(input: Uint8Array, arrival?: Arrival): Promise<BatchedResult> {
    arrival?.take();
    if (this.queue.length >= this.policy.maxQueueSize) {
      this.observer?.rejected();
      return Promise.reject(new QueueFullError(Math.max(1, this.policy.maxQueueDelayMs / 1000)));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ input, enqueuedAt: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running >= this.maxInFlight || !this.queue.length) return;
    if (
      this.queue.length >= this.policy.maxBatchSize ||
      this.policy.maxQueueDelayMs <= 0 ||
      this.announced === 0
    ) {
      this.dispatch();
      return;
    }
    if (!this.timer) {
      const waited = performance.now() - this.queue[0]!.enqueuedAt;
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          if (this.running < this.maxInFlight) this.dispatch();
        },
        Math.max(0, this.policy.maxQueueDelayMs - waited),
      );
    }
  }

  private dispatch(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue.splice(0, this.policy.maxBatchSize);
    if (!batch.length) return;
    this.running += 1;
    const started = performance.now();
    for (const w of batch) this.observer?.queued(started - w.enqueuedAt);
    this.run(batch.map((w) => w.input))
      .then(
        ({ predictions, runMs }) => {
          this.observer?.batch(batch.length, runMs);
          batch.forEach((w, i) => {
            const prediction = predictions[i];
            if (!prediction) return w.reject(new Error('the engine returned too few predictions'));
            w.resolve({
              prediction,
              queueMs: started - w.enqueuedAt,
              batchSize: batch.length,
              runMs,
            });
          });
        },
        (err: Error) => {
          for (const w of batch) w.reject(err);
        },
      )
      .finally(() => {
        this.running -= 1;
        // Whatever queued during the run has waited long enough: run it now.
        if (this.queue.length) this.dispatch();
        else if (!this.running) for (const done of this.idleWaiters.splice(0)) done();
      });
  }

  /** Resolves when nothing is queued or running (graceful shutdown). */
  drain(): Promise<void> {
    if (!this.queue.length && !this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
