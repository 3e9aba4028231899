import { Type } from 'typebox';

const Candidate = Type.Object({ label: Type.String(), confidence: Type.Number() });

export const ClassifyResultSchema = Type.Object({
  prediction_id: Type.String({ format: 'uuid' }),
  species: Type.Union([Type.String(), Type.Null()], { description: 'null when status is unknown' }),
  scientific_name: Type.Union([Type.String(), Type.Null()]),
  label: Type.String({ description: 'The most likely known class, even when unknown' }),
  confidence: Type.Number({ description: 'Calibrated probability of label' }),
  status: Type.Union([Type.Literal('ok'), Type.Literal('unknown')]),
  unknown_reason: Type.Optional(Type.String()),
  top_k: Type.Array(Candidate),
  ood_score: Type.Number({
    description: 'Similarity to the training images; low means unlike them',
  }),
  model: Type.Object({ name: Type.String(), version: Type.Integer(), route: Type.String() }),
  inference_ms: Type.Number(),
  timings: Type.Object({
    decode_ms: Type.Number(),
    queue_ms: Type.Number(),
    run_ms: Type.Number(),
    batch_size: Type.Integer(),
  }),
  cached: Type.Boolean(),
  image_sha256: Type.String(),
  health: Type.Optional(
    Type.Object({
      status: Type.Union([Type.Literal('ok'), Type.Literal('unknown')]),
      condition: Type.Union([Type.String(), Type.Null()]),
      confidence: Type.Number(),
      top_k: Type.Array(Candidate),
      model: Type.Object({ name: Type.String(), version: Type.Integer() }),
    }),
  ),
});

export const ClassifyMultipartDoc = Type.Object({
  file: Type.String({ format: 'binary', description: 'JPEG, PNG, WebP, GIF, TIFF or AVIF image' }),
  unit_id: Type.Optional(Type.String({ description: 'Tank, pen or pond the image comes from' })),
  device_id: Type.Optional(
    Type.String({ description: 'Camera id; keeps A/B routing sticky per device' }),
  ),
});

export const StoredPredictionSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  created_at: Type.String({ format: 'date-time' }),
  species: Type.Union([Type.String(), Type.Null()]),
  label: Type.String(),
  confidence: Type.Number(),
  status: Type.String(),
  top_k: Type.Array(Candidate),
  model: Type.Object({ name: Type.String(), version: Type.Integer() }),
  unit_id: Type.Union([Type.String(), Type.Null()]),
  device_id: Type.Union([Type.String(), Type.Null()]),
  inference_ms: Type.Number(),
  source: Type.String(),
  health: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  feedback: Type.Union([
    Type.Object({
      label: Type.String(),
      note: Type.Union([Type.String(), Type.Null()]),
      at: Type.String(),
    }),
    Type.Null(),
  ]),
});
