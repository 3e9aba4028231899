// Runs training and evaluation on a worker thread: both drive onnxruntime for minutes, and its
// runs are synchronous, so on the main thread they would stall HTTP and the job queue.
import { parentPort, workerData } from 'node:worker_threads';
import { BackbonePool } from '../../ml/backbone/session.ts';
import { loadModel } from '../../ml/classifier.ts';
import { evaluateModel } from '../../ml/evaluate/evaluate-model.ts';
import { trainModel } from '../../ml/train/train-model.ts';
import type { MlJob, MlMessage } from './ml-job.ts';

const job = workerData as MlJob;
const port = parentPort!;
const pool = new BackbonePool(job.storeDir, { intraOpThreads: job.threads });

async function run(): Promise<unknown> {
  if (job.op === 'train') {
    const r = await trainModel({
      ...job.options,
      backbones: pool,
      onProgress: (p) => port.postMessage({ type: 'progress', progress: p } satisfies MlMessage),
    });
    return {
      outDir: r.outDir,
      manifest: r.manifest,
      embeddingSeconds: r.embeddingSeconds,
      trainingSeconds: r.trainingSeconds,
    };
  }
  const classifier = await loadModel(job.modelDir, pool);
  return evaluateModel(classifier, job.dataDir, {
    oodDir: job.oodDir,
    onProgress: (done, total) =>
      port.postMessage({
        type: 'progress',
        progress: { phase: 'evaluate', done, total },
      } satisfies MlMessage),
  });
}

run()
  .then((value) => port.postMessage({ type: 'done', value } satisfies MlMessage))
  .catch((err: unknown) =>
    port.postMessage({
      type: 'error',
      error: err instanceof Error ? err.message : String(err),
    } satisfies MlMessage),
  )
  .finally(() => void pool.close());
