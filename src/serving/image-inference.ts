import type { KeyValueCache } from '../infra/cache/types.ts';
import type { Prediction } from '../ml/classifier.ts';
import {
  type DecodeLimits,
  decodeRgb,
  inspectImage,
  type PreprocessSpec,
  specKey,
} from '../ml/preprocess.ts';
import type { Metrics } from '../observability/metrics.ts';
import { inSpan } from '../observability/tracing.ts';
import type { VersionRef } from './router.ts';
import type { LoadedModel, ModelRuntime } from './runtime.ts';
import type { ServingStats } from './stats.ts';

/** Pixels decoded for one preprocessing, reusable by another model with the same one. */
export interface Decoded {
  spec: PreprocessSpec;
  rgb: Uint8Array;
}

export interface InferOutcome {
  prediction: Prediction;
  model: LoadedModel;
  cached: boolean;
  decodeMs: number;
  queueMs: number;
  runMs: number;
  batchSize: number;
  /** The decoded pixels (absent on a cache hit, which decoded nothing). */
  decoded?: Decoded;
}

export interface CachedPrediction {
  prediction: Prediction;
}

const sameSpec = (a: PreprocessSpec, b: PreprocessSpec) => specKey(a) === specKey(b);

/**
 * Runs one model version on one image: the prediction cache first, then decoding (or the pixels
 * another version decoded), then the version's dynamic batcher and the inference thread.
 */
export class ImageInference {
  constructor(
    private readonly runtime: ModelRuntime,
    private readonly cache: KeyValueCache<CachedPrediction> | undefined,
    private readonly stats: ServingStats,
    private readonly metrics: Metrics,
    private readonly limits: DecodeLimits,
  ) {}

  /** Refuses (ImageInputError) what decoding would refuse, reading only the header. */
  inspect(image: Buffer | { path: string; bytes: number }): Promise<void> {
    return inspectImage(image, this.limits);
  }

  get cacheKind(): 'memory' | 'redis' | 'off' {
    return this.cache?.kind ?? 'off';
  }

  async run(ref: VersionRef, image: Buffer, sha: string, prior?: Decoded): Promise<InferOutcome> {
    const model = await this.runtime.get(ref);
    const cacheKey = `${sha}:${model.key}`;
    const hit = await this.cache?.get(cacheKey);
    // Every version run here is listed by /models/stats, cached or not.
    const stats = this.stats.of(ref.name, ref.version);
    if (hit) {
      this.metrics.cache.inc({ result: 'hit' });
      stats.cacheHits += 1;
      return {
        prediction: hit.prediction,
        model,
        cached: true,
        decodeMs: 0,
        queueMs: 0,
        runMs: 0,
        batchSize: 0,
      };
    }
    if (this.cache) this.metrics.cache.inc({ result: 'miss' });
    const started = performance.now();
    const spec = model.manifest.preprocessing;
    // While this image decodes, an idle engine may hold a waiting request for it to join.
    const arrival = model.batcher.announce();
    let input: Buffer;
    try {
      // Pixels decoded for another model with the same preprocessing are reused, not decoded again.
      input =
        prior && sameSpec(prior.spec, spec)
          ? Buffer.from(prior.rgb)
          : await inSpan('decode', { 'image.bytes': image.length }, () =>
              decodeRgb(image, spec, this.limits),
            );
    } catch (err) {
      arrival.withdraw();
      throw err;
    }
    const decodeMs = performance.now() - started;
    // The engine takes ownership of the buffer it gets; keep a copy for a second model.
    const decoded: Decoded = { spec, rgb: Buffer.from(input) };
    // The span covers the wait for a batch and its run in the inference thread.
    const result = await inSpan('inference.batch', { model: model.key }, async (span) => {
      const r = await model.batcher.submit(input, arrival);
      span.setAttributes({ batch_size: r.batchSize, queue_ms: r.queueMs, run_ms: r.runMs });
      return r;
    });
    void this.cache?.set(cacheKey, { prediction: result.prediction });
    return {
      prediction: result.prediction,
      model,
      cached: false,
      decodeMs,
      queueMs: result.queueMs,
      runMs: result.runMs,
      batchSize: result.batchSize,
      decoded,
    };
  }
}
