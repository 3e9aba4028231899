import { Worker } from 'node:worker_threads';
import type { Evaluation } from '../../ml/evaluate/evaluate-model.ts';
import type { TrainOptions, TrainProgress, TrainResult } from '../../ml/train/train-model.ts';

export type TrainJobOptions = Omit<TrainOptions, 'backbones' | 'onProgress' | 'storeDir'>;

export type MlJob =
  | { op: 'train'; storeDir: string; threads: number | undefined; options: TrainJobOptions }
  | {
      op: 'evaluate';
      storeDir: string;
      threads: number | undefined;
      modelDir: string;
      dataDir: string;
      oodDir?: string;
    };

export type MlMessage =
  | {
      type: 'progress';
      progress: TrainProgress | { phase: 'evaluate'; done: number; total: number };
    }
  | { type: 'done'; value: unknown }
  | { type: 'error'; error: string };

export type TrainOutcome = TrainResult;

/** Runs one training or evaluation job on its own thread; aborting the signal stops the thread. */
function runMlJob<T>(
  job: MlJob,
  onProgress: (p: { phase: string; done?: number; total?: number; message?: string }) => void,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    signal?.throwIfAborted();
    const worker = new Worker(new URL('./ml-thread.mjs', import.meta.url), {
      workerData: job,
      name: `aquaml-${job.op}`,
    });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', abort);
      fn();
    };
    const abort = () => {
      void worker.terminate();
      finish(() => reject(signal?.reason ?? new Error('aborted')));
    };
    signal?.addEventListener('abort', abort, { once: true });
    worker.on('message', (msg: MlMessage) => {
      if (msg.type === 'progress') onProgress(msg.progress);
      else if (msg.type === 'done') finish(() => resolve(msg.value as T));
      else finish(() => reject(new Error(msg.error)));
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) =>
      finish(() => reject(new Error(`the ${job.op} thread exited (${code})`))),
    );
  });
}

export function trainInThread(
  storeDir: string,
  threads: number | undefined,
  options: TrainJobOptions,
  onProgress: (p: { phase: string; done?: number; total?: number; message?: string }) => void,
  signal?: AbortSignal,
): Promise<TrainOutcome> {
  return runMlJob<TrainOutcome>({ op: 'train', storeDir, threads, options }, onProgress, signal);
}

export function evaluateInThread(
  storeDir: string,
  threads: number | undefined,
  modelDir: string,
  dataDir: string,
  oodDir: string | undefined,
  onProgress: (p: { phase: string; done?: number; total?: number }) => void,
  signal?: AbortSignal,
): Promise<Evaluation> {
  return runMlJob<Evaluation>(
    { op: 'evaluate', storeDir, threads, modelDir, dataDir, oodDir },
    onProgress,
    signal,
  );
}
