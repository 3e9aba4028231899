import { createHash, randomUUID } from 'node:crypto';
import type { Prediction } from '../../ml/classifier.ts';
import {
  type DecodeLimits,
  decodeRgb,
  ImageInputError,
  type PreprocessSpec,
} from '../../ml/preprocess.ts';
import type { KeyValueCache } from '../../infra/cache/types.ts';
import type { ImageArchive } from '../../infra/images/archive.ts';
import type { Logger } from '../../logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { RouteDecision, TrafficRouter, VersionRef } from '../../serving/router.ts';
import type { LoadedModel, ModelRuntime } from '../../serving/runtime.ts';
import type { ServingStats } from '../../serving/stats.ts';
import { type ModelRegistry, parseModelRef, RegistryError } from '../models/registry.ts';
import type { PredictionWriter } from './writer.ts';

export interface ClassifyInput {
  image: Buffer;
  /** A model name (routed by its traffic split), or name@version / name@alias (pinned). */
  model?: string;
  unitId?: string | null;
  deviceId?: string | null;
  userId?: string | null;
  apiKeyId?: string | null;
  /** Key for sticky routing when no device id is given (the caller's id). */
  callerId?: string;
  source: string;
  topK?: number;
  /** Also run the health model when one is registered (default true). */
  health?: boolean;
  /** A fixed id (task runs derive it, so a retried run stores each prediction once). */
  predictionId?: string;
}

export interface HealthAssessment {
  status: 'ok' | 'unknown';
  condition: string | null;
  confidence: number;
  top_k: { label: string; confidence: number }[];
  model: { name: string; version: number };
}

export interface ClassifyResult {
  prediction_id: string;
  species: string | null;
  scientific_name: string | null;
  label: string;
  confidence: number;
  status: 'ok' | 'unknown';
  unknown_reason?: string;
  top_k: { label: string; confidence: number }[];
  ood_score: number;
  model: { name: string; version: number; route: string };
  inference_ms: number;
  timings: { decode_ms: number; queue_ms: number; run_ms: number; batch_size: number };
  cached: boolean;
  image_sha256: string;
  health?: HealthAssessment;
}

interface Decoded {
  spec: PreprocessSpec;
  rgb: Uint8Array;
}

interface InferOutcome {
  prediction: Prediction;
  model: LoadedModel;
  cached: boolean;
  decodeMs: number;
  queueMs: number;
  runMs: number;
  batchSize: number;
  decoded?: Decoded;
}

interface CachedPrediction {
  prediction: Prediction;
}

export interface ClassificationOptions {
  defaultModel: string;
  healthModel: string;
  limits: DecodeLimits;
}

/**
 * Synchronous on purpose: uploads are capped (AQUAML_MAX_UPLOAD_BYTES) and a camera frame hashes
 * in far less time than WebCrypto's thread-pool round trip, which showed in the serving profile.
 */
function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const sameSpec = (a: PreprocessSpec, b: PreprocessSpec) =>
  a.size === b.size && a.fit === b.fit && a.kernel === b.kernel && a.scale === b.scale;

/** Image in, prediction out: routing, cache, decoding, batching, shadow runs, health, storage. */
export class ClassificationService {
  private healthRef: Promise<VersionRef | undefined> | undefined;
  /** Pinned references (name@version, name@alias) resolved once until the model changes. */
  private readonly pinned = new Map<string, Promise<RouteDecision>>();

  constructor(
    private readonly runtime: ModelRuntime,
    private readonly router: TrafficRouter,
    private readonly registry: ModelRegistry,
    private readonly cache: KeyValueCache<CachedPrediction> | undefined,
    private readonly writer: PredictionWriter,
    private readonly stats: ServingStats,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly options: ClassificationOptions,
    /** Keeps classified images for retraining from feedback; undefined when disabled. */
    private readonly archive?: ImageArchive,
  ) {}

  /** Which version answers: a pinned reference, or the model's traffic split. */
  async decide(model: string | undefined, stickyKey: string | undefined): Promise<RouteDecision> {
    const { name, selector } = parseModelRef(model ?? this.options.defaultModel);
    if (model && model.includes('@')) {
      const key = `${name}@${selector}`;
      let pinned = this.pinned.get(key);
      if (!pinned) {
        pinned = this.registry.resolve({ name, selector }).then((row) => ({
          primary: { name, version: row.version },
          target: selector,
        }));
        this.pinned.set(key, pinned);
        pinned.catch(() => this.pinned.delete(key));
      }
      return pinned;
    }
    return this.router.decide(name, stickyKey);
  }

  /**
   * The health model's champion, or undefined when none is registered. Cached (also the absence)
   * so the hot path makes no database round trip; `invalidate` drops it when models change.
   */
  private healthModel(): Promise<VersionRef | undefined> {
    this.healthRef ??= this.registry
      .resolve({ name: this.options.healthModel, selector: 'champion' })
      .then(
        (row) => ({ name: row.name, version: row.version }),
        (err: unknown) => {
          if (err instanceof RegistryError) return undefined;
          this.healthRef = undefined;
          throw err;
        },
      );
    return this.healthRef;
  }

  /** Called when a model's versions or aliases change (in any process). */
  invalidate(name: string): void {
    if (name === this.options.healthModel) this.healthRef = undefined;
    for (const key of this.pinned.keys()) if (key.startsWith(`${name}@`)) this.pinned.delete(key);
  }

  /** Runs one version on an image, through the cache and the dynamic batcher. */
  private async infer(
    ref: VersionRef,
    image: Buffer,
    sha: string,
    prior?: Decoded,
  ): Promise<InferOutcome> {
    const model = await this.runtime.get(ref);
    const cacheKey = `${sha}:${model.key}`;
    const hit = await this.cache?.get(cacheKey);
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
          : await decodeRgb(image, spec, this.options.limits);
    } catch (err) {
      arrival.withdraw();
      throw err;
    }
    const decodeMs = performance.now() - started;
    // The engine takes ownership of the buffer it gets; keep a copy for a second model.
    const decoded: Decoded = { spec, rgb: Buffer.from(input) };
    const result = await model.batcher.submit(input, arrival);
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

  async classify(input: ClassifyInput): Promise<ClassifyResult> {
    const started = performance.now();
    const stickyKey = input.deviceId ?? input.callerId;
    const sha = sha256(input.image);
    const [decision, health] = await Promise.all([
      this.decide(input.model, stickyKey ?? undefined),
      input.health === false ? undefined : this.healthModel(),
    ]);
    const { primary } = decision;
    const stats = this.stats.of(primary.name, primary.version);
    const labels = { model: primary.name, version: String(primary.version) };
    let out;
    try {
      out = await this.infer(primary, input.image, sha);
    } catch (err) {
      // A bad image is the client's mistake, not a failure of the model version.
      if (!(err instanceof ImageInputError)) {
        stats.requests += 1;
        stats.errors += 1;
        this.metrics.predictions.inc({ ...labels, status: 'error' });
      }
      throw err;
    }
    stats.requests += 1;
    if (!out.cached) this.archive?.keep(sha, input.image);
    const healthPromise = health
      ? this.infer(health, input.image, sha, out.decoded).catch((err: unknown) => {
          this.logger.warn({ err }, 'health model failed; answering without health');
          return undefined;
        })
      : undefined;
    const p = out.prediction;
    const id = input.predictionId ?? randomUUID();
    const info = out.model.manifest.label_info?.[p.label];
    const k = Math.max(1, Math.min(input.topK ?? 5, p.top_k.length));
    const healthOut = healthPromise ? await healthPromise : undefined;
    const inferenceMs = performance.now() - started;

    stats.latencyMs.record(inferenceMs);
    stats.confidence.record(p.confidence);
    stats.oodScore.record(p.ood_score);
    stats.featureNorm.record(p.embedding.norm);
    if (p.status === 'unknown') stats.unknown += 1;
    this.metrics.inferenceDuration.observe(labels, inferenceMs / 1000);
    this.metrics.predictions.inc({ ...labels, status: p.status });

    const result: ClassifyResult = {
      prediction_id: id,
      species: p.status === 'ok' ? p.label : null,
      scientific_name: p.status === 'ok' ? (info?.scientific_name ?? null) : null,
      label: p.label,
      confidence: round(p.confidence),
      status: p.status,
      top_k: p.top_k.slice(0, k).map((c) => ({ label: c.label, confidence: round(c.confidence) })),
      ood_score: round(p.ood_score),
      model: { name: primary.name, version: primary.version, route: decision.target },
      inference_ms: round(inferenceMs, 2),
      timings: {
        decode_ms: round(out.decodeMs, 2),
        queue_ms: round(out.queueMs, 2),
        run_ms: round(out.runMs, 2),
        batch_size: out.batchSize,
      },
      cached: out.cached,
      image_sha256: sha,
    };
    if (p.unknown_reason) result.unknown_reason = p.unknown_reason;
    if (healthOut && health) {
      const h = healthOut.prediction;
      result.health = {
        status: h.status,
        condition: h.status === 'ok' ? h.label : null,
        confidence: round(h.confidence),
        top_k: h.top_k
          .slice(0, 3)
          .map((c) => ({ label: c.label, confidence: round(c.confidence) })),
        model: { name: health.name, version: health.version },
      };
    }

    const row = {
      id,
      userId: input.userId ?? null,
      apiKeyId: input.apiKeyId ?? null,
      unitId: input.unitId ?? null,
      deviceId: input.deviceId ?? null,
      source: input.source,
      modelName: primary.name,
      modelVersion: primary.version,
      label: p.label,
      confidence: p.confidence,
      status: p.status,
      oodScore: p.ood_score,
      topK: result.top_k,
      health: (result.health as unknown as Record<string, unknown>) ?? null,
      inferenceMs,
      imageSha256: sha,
      routeTarget: decision.target,
      cached: out.cached,
    };
    if (decision.shadow) {
      // The challenger sees the same image; only the champion's answer is returned.
      const shadowRef = decision.shadow;
      void this.infer(shadowRef, input.image, sha, out.decoded)
        .then((s) => {
          const agree = s.prediction.label === p.label && s.prediction.status === p.status;
          const shadowStats = this.stats.of(shadowRef.name, shadowRef.version);
          shadowStats.shadowCompared += 1;
          if (agree) shadowStats.shadowAgreed += 1;
          this.metrics.shadowAgreement.inc({
            model: shadowRef.name,
            version: String(shadowRef.version),
            agree: String(agree),
          });
          this.writer.enqueue({
            ...row,
            shadow: {
              version: shadowRef.version,
              label: s.prediction.label,
              confidence: s.prediction.confidence,
              status: s.prediction.status,
              agree,
            },
          });
        })
        .catch((err: unknown) => {
          this.logger.warn({ err, shadow: shadowRef }, 'shadow run failed');
          this.writer.enqueue(row);
        });
    } else {
      this.writer.enqueue(row);
    }
    return result;
  }
}

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;
