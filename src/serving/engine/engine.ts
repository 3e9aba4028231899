import { Worker } from 'node:worker_threads';
import type { Manifest } from '../../ml/artifact/manifest.ts';
import type { PredictOptions } from '../../ml/classifier.ts';
import type { Logger } from '../../logger.ts';
import type { EngineInit, EngineRequest, EngineResponse, PredictReply } from './protocol.ts';

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

export class EngineStoppedError extends Error {
  constructor() {
    super('the inference engine is stopped');
    this.name = 'EngineStoppedError';
  }
}

/**
 * The main thread's handle on the inference thread. If the thread dies, pending calls fail, a new
 * thread starts, and the models that were loaded are loaded again.
 */
export class InferenceEngine {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly loaded = new Map<string, string>();
  private stopped = false;

  constructor(
    private readonly init: EngineInit,
    private readonly logger: Logger,
  ) {}

  private thread(): Worker {
    if (this.stopped) throw new EngineStoppedError();
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./engine-thread.mjs', import.meta.url), {
      workerData: this.init,
      name: 'aquaml-inference',
    });
    worker.on('message', (msg: EngineResponse) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.value);
      else p.reject(new Error(msg.error));
    });
    worker.on('error', (err) => this.logger.error({ err }, 'inference thread failed'));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      const failed = [...this.pending.values()];
      this.pending.clear();
      for (const p of failed) p.reject(new Error(`inference thread exited (${code})`));
      if (!this.stopped) {
        this.logger.error({ code }, 'inference thread exited; restarting it');
        for (const [key, dir] of this.loaded) {
          void this.call({ op: 'load', key, dir }).catch((err: unknown) =>
            this.logger.error({ err, key }, 'reloading a model failed'),
          );
        }
      }
    });
    this.worker = worker;
    return worker;
  }

  private call<T>(
    req: DistributiveOmit<EngineRequest, 'id'>,
    transfer: ArrayBuffer[] = [],
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let worker: Worker;
      try {
        worker = this.thread();
      } catch (err) {
        return reject(err);
      }
      const id = this.nextId++;
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ ...req, id }, transfer);
    });
  }

  async load(key: string, dir: string): Promise<Manifest> {
    const { manifest } = await this.call<{ manifest: Manifest }>({ op: 'load', key, dir });
    this.loaded.set(key, dir);
    return manifest;
  }

  async unload(key: string): Promise<void> {
    this.loaded.delete(key);
    if (this.worker) await this.call({ op: 'unload', key });
  }

  /** Runs one batch; the input buffers are moved to the inference thread, not copied. */
  predict(key: string, inputs: Uint8Array[], options: PredictOptions = {}): Promise<PredictReply> {
    // Only whole buffers move: a view into a shared pool (small Node Buffers) must be copied.
    const transfer = inputs
      .filter((b) => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength)
      .map((b) => b.buffer)
      .filter((b): b is ArrayBuffer => b instanceof ArrayBuffer && b.byteLength > 0);
    return this.call<PredictReply>({ op: 'predict', key, inputs, options }, [...new Set(transfer)]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const worker = this.worker;
    this.worker = undefined;
    for (const p of this.pending.values()) p.reject(new EngineStoppedError());
    this.pending.clear();
    await worker?.terminate();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
