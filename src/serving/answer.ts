// The answer a client gets for one classified image: the same shape from /predictions/classify,
// /ml/predict, tasks and (as tensors) KServe v2, with one precision for every figure.
import type { Manifest } from '../ml/artifact/manifest.ts';
import type { Prediction } from '../ml/classifier.ts';
import { roundMs, roundScore } from './precision.ts';
import type { RouteDecision, VersionRef } from './router.ts';

/** Classes an answer lists unless the caller asks for another number (top_k). */
export const DEFAULT_TOP_K = 5;

export interface HealthAssessment {
  status: 'ok' | 'unknown';
  condition: string | null;
  confidence: number;
  top_k: { label: string; confidence: number }[];
  model: { name: string; version: number };
}

export interface Timings {
  decode_ms: number;
  queue_ms: number;
  run_ms: number;
  batch_size: number;
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
  timings: Timings;
  cached: boolean;
  image_sha256: string;
  health?: HealthAssessment;
}

/** The top classes of a prediction, rounded as the API shows them. */
const topOf = (p: Prediction, k: number) =>
  p.top_k.slice(0, k).map((c) => ({ label: c.label, confidence: roundScore(c.confidence) }));

/** The health model's verdict on the same image (its three most likely conditions). */
export function healthAssessment(prediction: Prediction, model: VersionRef): HealthAssessment {
  return {
    status: prediction.status,
    condition: prediction.status === 'ok' ? prediction.label : null,
    confidence: roundScore(prediction.confidence),
    top_k: topOf(prediction, 3),
    model: { name: model.name, version: model.version },
  };
}

export interface AnswerParts {
  id: string;
  prediction: Prediction;
  /** The manifest of the version that answered (for the species' scientific name). */
  manifest: Manifest;
  decision: RouteDecision;
  /** How many classes the caller asked for (default DEFAULT_TOP_K). */
  topK: number | undefined;
  inferenceMs: number;
  /** Where the time of the primary version went; zeros for a cache hit. */
  decodeMs: number;
  queueMs: number;
  runMs: number;
  batchSize: number;
  cached: boolean;
  sha256: string;
  health?: HealthAssessment;
}

export function answerOf(a: AnswerParts): ClassifyResult {
  const p = a.prediction;
  const info = a.manifest.label_info?.[p.label];
  const known = p.status === 'ok';
  const result: ClassifyResult = {
    prediction_id: a.id,
    species: known ? p.label : null,
    scientific_name: known ? (info?.scientific_name ?? null) : null,
    label: p.label,
    confidence: roundScore(p.confidence),
    status: p.status,
    top_k: topOf(p, Math.max(1, Math.min(a.topK ?? DEFAULT_TOP_K, p.top_k.length))),
    ood_score: roundScore(p.ood_score),
    model: {
      name: a.decision.primary.name,
      version: a.decision.primary.version,
      route: a.decision.target,
    },
    inference_ms: roundMs(a.inferenceMs),
    timings: {
      decode_ms: roundMs(a.decodeMs),
      queue_ms: roundMs(a.queueMs),
      run_ms: roundMs(a.runMs),
      batch_size: a.batchSize,
    },
    cached: a.cached,
    image_sha256: a.sha256,
  };
  if (p.unknown_reason) result.unknown_reason = p.unknown_reason;
  if (a.health) result.health = a.health;
  return result;
}
