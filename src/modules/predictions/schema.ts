import { Type } from 'typebox';

const Candidate = Type.Object({ label: Type.String(), confidence: Type.Number() });

const Timings = Type.Object({
  decode_ms: Type.Number(),
  queue_ms: Type.Number(),
  run_ms: Type.Number(),
  batch_size: Type.Integer(),
});

export const ClassifyResultSchema = Type.Object({
  prediction_id: Type.String({ format: 'uuid' }),
  species: Type.Union([Type.String(), Type.Null()], { description: 'null when status is unknown' }),
  scientific_name: Type.Union([Type.String(), Type.Null()]),
  label: Type.String({ description: 'The most likely known class, even when unknown' }),
  confidence: Type.Number({ description: 'Calibrated probability of label' }),
  status: Type.Union([Type.Literal('ok'), Type.Literal('unknown')]),
  unknown_reason: Type.Optional(
    Type.String({
      description:
        'Why status is unknown: not_a_fish, unknown_species (a fish unlike every known species), out_of_distribution (models without a novelty check), low_confidence (a known-looking fish, but too unsure between classes)',
    }),
  ),
  top_k: Type.Array(Candidate),
  ood_score: Type.Number({
    description: 'Similarity to the training images; low means unlike them',
  }),
  model: Type.Object({ name: Type.String(), version: Type.Integer(), route: Type.String() }),
  inference_ms: Type.Number(),
  timings: Timings,
  cached: Type.Boolean({ description: 'answered from the prediction cache (no model ran)' }),
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
  model: Type.Optional(
    Type.String({
      description: 'name, name@version or name@alias (as ?model=; not both different)',
    }),
  ),
  unit_id: Type.Optional(
    Type.String({
      description:
        'Tank, pen or pond the image comes from: a farm unit id (you must be an operator of its farm) attaches the prediction to that unit; other text is kept as a label',
    }),
  ),
  device_id: Type.Optional(
    Type.String({ description: 'Camera id; keeps A/B routing sticky per device' }),
  ),
});

export const StoredPredictionSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  created_at: Type.String({ format: 'date-time' }),
  species: Type.Union([Type.String(), Type.Null()]),
  scientific_name: Type.Union([Type.String(), Type.Null()]),
  label: Type.String(),
  confidence: Type.Number(),
  status: Type.Union([Type.Literal('ok'), Type.Literal('unknown')]),
  top_k: Type.Array(Candidate),
  ood_score: Type.Union([Type.Number(), Type.Null()]),
  model: Type.Object({
    name: Type.String(),
    version: Type.Integer(),
    route: Type.Union([Type.String(), Type.Null()]),
  }),
  unit_id: Type.Union([Type.String(), Type.Null()]),
  farm_unit_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], {
    description: 'The farm unit the image came from, when unit_id named one',
  }),
  farm_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  device_id: Type.Union([Type.String(), Type.Null()]),
  inference_ms: Type.Number(),
  timings: Type.Union([Timings, Type.Null()], {
    description: 'null for predictions stored before it was kept',
  }),
  cached: Type.Boolean(),
  image_sha256: Type.String(),
  source: Type.String(),
  health: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  feedback: Type.Union([
    Type.Object({
      label: Type.String(),
      note: Type.Union([Type.String(), Type.Null()]),
      at: Type.String(),
      by: Type.Object({
        user_id: Type.Union([Type.String(), Type.Null()]),
        api_key_id: Type.Union([Type.String(), Type.Null()]),
        role: Type.Union([Type.String(), Type.Null()], {
          description: 'The role the giver had; retraining uses operator and admin labels only',
        }),
      }),
    }),
    Type.Null(),
  ]),
});
