import type { predictions } from '../../db/schema.ts';
import type { Classification } from '../../serving/classification.ts';

export type PredictionInsert = typeof predictions.$inferInsert;

/**
 * The stored row of a classified image: the answer as the client saw it (rounded top-k, health,
 * timings), the unrounded confidence and scores, who asked and where the image came from.
 */
export function predictionRow(c: Classification): PredictionInsert {
  const { input, result, prediction: p } = c;
  return {
    id: result.prediction_id,
    userId: input.userId ?? null,
    apiKeyId: input.apiKeyId ?? null,
    unitId: input.unitId ?? null,
    farmUnitId: input.farmUnitId ?? null,
    farmId: input.farmId ?? null,
    deviceId: input.deviceId ?? null,
    source: input.source,
    modelName: result.model.name,
    modelVersion: result.model.version,
    label: p.label,
    confidence: p.confidence,
    status: p.status,
    oodScore: p.ood_score,
    topK: result.top_k,
    health: (result.health as unknown as Record<string, unknown>) ?? null,
    inferenceMs: c.inferenceMs,
    imageSha256: result.image_sha256,
    routeTarget: result.model.route,
    cached: result.cached,
    scientificName: result.scientific_name,
    timings: result.timings,
    createdAt: c.receivedAt,
  };
}
