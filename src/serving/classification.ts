import { createHash, randomUUID } from 'node:crypto';
import type { KeptImages } from '../infra/images/kept-images.ts';
import type { Logger } from '../logger.ts';
import type { Prediction } from '../ml/classifier.ts';
import { ImageInputError } from '../ml/preprocess.ts';
import type { Metrics } from '../observability/metrics.ts';
import { answerOf, type ClassifyResult, healthAssessment } from './answer.ts';
import type { ModelCatalog } from './catalog.ts';
import type { ImageInference, InferOutcome } from './image-inference.ts';
import type { RouteDecision, TrafficRouter, VersionRef } from './router.ts';
import { compareShadow, type ShadowOutcome } from './shadow.ts';
import type { ServingStats } from './stats.ts';

export interface ClassifyInput {
  image: Buffer;
  /** The image's SHA-256 (hex) when the server already hashed it as it arrived (a spooled upload). */
  sha256?: string;
  /** A model name (routed by its traffic split), or name@version / name@alias (pinned). */
  model?: string;
  unitId?: string | null;
  /** The farm unit (and its farm) unit_id named, checked by the caller (FarmAccess.unitRef). */
  farmUnitId?: string | null;
  farmId?: string | null;
  deviceId?: string | null;
  userId?: string | null;
  apiKeyId?: string | null;
  /** Key for sticky routing when no device id is given (the caller's id). */
  callerId?: string;
  source: string;
  topK?: number;
  /** Also run the health model when one is registered (default true). */
  health?: boolean;
  /** Keep the image when the service keeps images (default true; camera frames opt in). */
  keepImage?: boolean;
  /** A fixed id (task runs derive it, so a retried run stores each prediction once). */
  predictionId?: string;
  /** When the request arrived (the stored created_at); now by default. */
  receivedAt?: Date;
}

/** One classified image as it is handed to storage. */
export interface Classification {
  input: ClassifyInput;
  result: ClassifyResult;
  /** The primary version's prediction, unrounded. */
  prediction: Prediction;
  inferenceMs: number;
  receivedAt: Date;
}

/** Where classified images are stored (modules/predictions); an answer waits for its row. */
export interface PredictionSink {
  /** Resolves once the prediction is durable; rejects when it could not be stored. */
  store(classification: Classification): Promise<void>;
  /** Adds the shadow version's answer to the stored prediction later (best effort). */
  storeShadow(id: string, stored: Promise<void>, outcome: Promise<ShadowOutcome>): void;
}

export interface ClassificationOptions {
  defaultModel: string;
  healthModel: string;
}

export interface ClassificationDeps {
  catalog: ModelCatalog;
  router: TrafficRouter;
  inference: ImageInference;
  sink: PredictionSink;
  stats: ServingStats;
  metrics: Metrics;
  logger: Logger;
  options: ClassificationOptions;
  /** Keeps classified images for retraining from feedback; undefined when disabled. */
  keptImages?: KeptImages;
}

/** Bytes hashed per event-loop turn (about a millisecond of work). */
const HASH_SLICE = 512 * 1024;

/**
 * A camera frame hashes in one step, far quicker than WebCrypto's thread-pool round trip (which
 * showed in the serving profile; on Node 20 its digest also ran on the main thread). A large
 * upload (up to AQUAML_MAX_UPLOAD_BYTES, tens of ms of hashing) is hashed a slice per turn, so
 * other requests are served in between.
 */
async function sha256(bytes: Buffer): Promise<string> {
  const hash = createHash('sha256');
  for (let i = 0; i < bytes.length; i += HASH_SLICE) {
    if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    hash.update(bytes.subarray(i, i + HASH_SLICE));
  }
  return hash.digest('hex');
}

/** Image in, answer out: routing, the primary run, health, the shadow run, storage, accounting. */
export class ClassificationService {
  private healthRef: Promise<VersionRef | undefined> | undefined;
  /** Pinned references (name@version, name@alias) resolved once until the model changes. */
  private readonly pinned = new Map<string, Promise<RouteDecision>>();

  constructor(private readonly deps: ClassificationDeps) {}

  /** Which version answers: a pinned reference, or the model's traffic split. */
  async decide(model: string | undefined, stickyKey: string | undefined): Promise<RouteDecision> {
    const { catalog, router, options } = this.deps;
    const { name, selector } = catalog.parseRef(model ?? options.defaultModel);
    if (model && model.includes('@')) {
      const key = `${name}@${selector}`;
      let pinned = this.pinned.get(key);
      if (!pinned) {
        pinned = catalog.resolve({ name, selector }).then((row) => ({
          primary: { name, version: row.version },
          target: selector,
        }));
        this.pinned.set(key, pinned);
        pinned.catch(() => this.pinned.delete(key));
      }
      return pinned;
    }
    return router.decide(name, stickyKey);
  }

  /**
   * The health model's champion, or undefined when none is registered. Cached (also the absence)
   * so the hot path makes no database round trip; `invalidate` drops it when models change.
   */
  private healthModel(): Promise<VersionRef | undefined> {
    this.healthRef ??= this.deps.catalog
      .find({ name: this.deps.options.healthModel, selector: 'champion' })
      .then(
        (row) => (row ? { name: row.name, version: row.version } : undefined),
        (err: unknown) => {
          this.healthRef = undefined;
          throw err;
        },
      );
    return this.healthRef;
  }

  /** Called when a model's versions or aliases change (in any process). */
  invalidate(name: string): void {
    if (name === this.deps.options.healthModel) this.healthRef = undefined;
    for (const key of this.pinned.keys()) if (key.startsWith(`${name}@`)) this.pinned.delete(key);
  }

  /**
   * What classify would refuse about the image itself (not an image, too large, too many
   * pixels), found from its header: a queued task is refused at once instead of failing later.
   */
  inspect(image: Buffer | { path: string; bytes: number }): Promise<void> {
    return this.deps.inference.inspect(image);
  }

  async classify(input: ClassifyInput): Promise<ClassifyResult> {
    const started = performance.now();
    const receivedAt = input.receivedAt ?? new Date();
    const sha = input.sha256 ?? (await sha256(input.image));
    const [decision, health] = await Promise.all([
      this.decide(input.model, input.deviceId ?? input.callerId ?? undefined),
      input.health === false ? undefined : this.healthModel(),
    ]);
    const out = await this.runPrimary(decision.primary, input, sha);
    const healthOut = health ? await this.runHealth(health, input.image, sha, out) : undefined;
    const inferenceMs = performance.now() - started;
    this.account(decision.primary, out, inferenceMs);

    const result = answerOf({
      id: input.predictionId ?? randomUUID(),
      prediction: out.prediction,
      manifest: out.model.manifest,
      decision,
      topK: input.topK,
      inferenceMs,
      decodeMs: out.decodeMs,
      queueMs: out.queueMs,
      runMs: out.runMs,
      batchSize: out.batchSize,
      cached: out.cached,
      sha256: sha,
      health: healthOut && health ? healthAssessment(healthOut.prediction, health) : undefined,
    });
    // Answered only once stored: a 200 means the row survives a crash.
    const stored = this.deps.sink.store({
      input,
      result,
      prediction: out.prediction,
      inferenceMs,
      receivedAt,
    });
    if (decision.shadow) {
      // The challenger sees the same image; only the champion's answer is returned, and the
      // challenger's is added to the stored row when it is done.
      const shadow = this.runShadow(decision.shadow, input.image, sha, out);
      this.deps.sink.storeShadow(result.prediction_id, stored, shadow);
    }
    await stored;
    return result;
  }

  /** The version that answers; its failures count against it, a bad image does not. */
  private async runPrimary(ref: VersionRef, input: ClassifyInput, sha: string) {
    const { inference, stats, metrics, keptImages } = this.deps;
    const versionStats = stats.of(ref.name, ref.version);
    let out: InferOutcome;
    try {
      out = await inference.run(ref, input.image, sha);
    } catch (err) {
      // A bad image is the client's mistake, not a failure of the model version.
      if (!(err instanceof ImageInputError)) {
        versionStats.requests += 1;
        versionStats.errors += 1;
        metrics.predictions.inc({
          model: ref.name,
          version: String(ref.version),
          status: 'error',
        });
      }
      throw err;
    }
    versionStats.requests += 1;
    if (!out.cached && input.keepImage !== false) keptImages?.keep(sha, input.image);
    return out;
  }

  /** The health model on the same pixels; without it the answer simply has no health part. */
  private runHealth(
    ref: VersionRef,
    image: Buffer,
    sha: string,
    primary: InferOutcome,
  ): Promise<InferOutcome | undefined> {
    return this.deps.inference.run(ref, image, sha, primary.decoded).catch((err: unknown) => {
      this.deps.logger.warn({ err }, 'health model failed; answering without health');
      return undefined;
    });
  }

  private runShadow(
    ref: VersionRef,
    image: Buffer,
    sha: string,
    primary: InferOutcome,
  ): Promise<ShadowOutcome> {
    const { inference, stats, metrics } = this.deps;
    return inference
      .run(ref, image, sha, primary.decoded)
      .then((s) => compareShadow(primary.prediction, s.prediction, ref, stats, metrics));
  }

  /** The served request in /models/stats and the Prometheus series of its version. */
  private account(ref: VersionRef, out: InferOutcome, inferenceMs: number): void {
    const { stats, metrics } = this.deps;
    const p = out.prediction;
    const versionStats = stats.of(ref.name, ref.version);
    const labels = { model: ref.name, version: String(ref.version) };
    // A cache hit ran no model: it is counted (metrics.cache, stats.cacheHits) and kept out of
    // /models/stats latency, which it would flatter; the histogram labels it cached="true".
    if (!out.cached) versionStats.latencyMs.record(inferenceMs);
    versionStats.confidence.record(p.confidence);
    versionStats.oodScore.record(p.ood_score);
    versionStats.featureNorm.record(p.embedding.norm);
    if (p.status === 'unknown') versionStats.unknown += 1;
    metrics.inferenceDuration.observe(
      { ...labels, cached: String(out.cached) },
      inferenceMs / 1000,
    );
    metrics.predictions.inc({ ...labels, status: p.status });
  }
}
