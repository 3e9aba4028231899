import { Type } from 'typebox';
import { TopKQuery } from '../predictions/classify-request.ts';
import { ClassifyResultSchema } from '../predictions/schema.ts';

export const TaskAccepted = Type.Object({
  task_id: Type.String({ format: 'uuid' }),
  type: Type.String(),
  state: Type.String(),
  images: Type.Integer(),
  task_url: Type.String({ description: 'The task; also the Location header' }),
});

export const BatchDoc = Type.Object({
  files: Type.Array(Type.String({ format: 'binary' }), {
    description: 'Images, or zip / tar / tar.gz files of images; repeat the field',
  }),
  model: Type.Optional(Type.String({ description: 'as ?model=' })),
  unit_id: Type.Optional(Type.String()),
  device_id: Type.Optional(Type.String()),
});

export const BatchResult = Type.Object({
  summary: Type.Object({
    total: Type.Integer(),
    succeeded: Type.Integer(),
    failed: Type.Integer(),
    unknown: Type.Integer(),
    per_species: Type.Record(Type.String(), Type.Integer()),
  }),
  items: Type.Array(
    Type.Object({
      filename: Type.String(),
      result: Type.Optional(ClassifyResultSchema),
      error: Type.Optional(Type.String()),
    }),
  ),
});

export const BatchQuery = Type.Object({
  model: Type.Optional(Type.String({ maxLength: 80 })),
  top_k: TopKQuery,
  async: Type.Optional(
    Type.Boolean({ description: 'Always answer with a task (default: only for large batches)' }),
  ),
});
