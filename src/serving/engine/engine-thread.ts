// The inference thread: owns the onnxruntime sessions and the loaded heads, so that ORT's
// synchronous runs never block the HTTP event loop. One thread serves every model version;
// versions on the same backbone share one session.
import { parentPort, workerData } from 'node:worker_threads';
import { BackbonePool } from '../../ml/backbone/session.ts';
import { type Classifier, loadModel } from '../../ml/classifier.ts';
import { toFloat } from '../../ml/preprocess.ts';
import type { EngineInit, EngineRequest, EngineResponse, EngineValue } from './protocol.ts';

const init = workerData as EngineInit;
const pool = new BackbonePool(init.storeDir, { intraOpThreads: init.intraOpThreads });
const models = new Map<string, Promise<Classifier>>();
const port = parentPort!;

async function handle(req: EngineRequest): Promise<EngineValue> {
  switch (req.op) {
    case 'load': {
      let model = models.get(req.key);
      if (!model) {
        model = loadModel(req.dir, pool);
        models.set(req.key, model);
        model.catch(() => models.delete(req.key));
      }
      return { manifest: (await model).manifest };
    }
    case 'unload':
      models.delete(req.key);
      return null;
    case 'predict': {
      const model = models.get(req.key);
      if (!model) throw new Error(`model ${req.key} is not loaded`);
      const classifier = await model;
      const started = performance.now();
      const inputs = req.inputs.map((rgb) => toFloat(rgb));
      const predictions = await classifier.predictBatch(inputs, req.options);
      return { predictions, runMs: performance.now() - started };
    }
  }
}

port.on('message', (req: EngineRequest) => {
  handle(req).then(
    (value) => port.postMessage({ id: req.id, ok: true, value } satisfies EngineResponse),
    (err: unknown) =>
      port.postMessage({
        id: req.id,
        ok: false,
        error: err instanceof Error ? err.message : String(err),
      } satisfies EngineResponse),
  );
});
