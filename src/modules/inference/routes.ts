import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../../context.ts';
import { notFound } from '../../http/errors.ts';
import { principalOf } from '../../http/plugins/auth.ts';
import { errors } from '../../http/schemas.ts';
import { readUpload } from '../../http/upload.ts';
import { ClassifyQuery, classifyUpload, optionalId } from '../predictions/classify-request.ts';
import { inferenceToHttp } from '../predictions/errors.ts';
import { ClassifyMultipartDoc, ClassifyResultSchema } from '../predictions/schema.ts';
import { ImageInputError } from '../../ml/preprocess.ts';
import { expandBatch } from './archive.ts';
import { type BatchItem, PREDICT_TASK, summarise } from './predict-task.ts';

const TaskAccepted = Type.Object({
  task_id: Type.String({ format: 'uuid' }),
  state: Type.String(),
  images: Type.Integer(),
  status_url: Type.String(),
});

const BatchDoc = Type.Object({
  files: Type.Array(Type.String({ format: 'binary' }), {
    description: 'Images, or zip / tar / tar.gz archives of images; repeat the field',
  }),
  unit_id: Type.Optional(Type.String()),
  device_id: Type.Optional(Type.String()),
});

const BatchResult = Type.Object({
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

const BatchQuery = Type.Object({
  model: Type.Optional(Type.String({ maxLength: 80 })),
  top_k: Type.Integer({ minimum: 1, maximum: 50, default: 5 }),
  async: Type.Optional(
    Type.Boolean({ description: 'Always answer with a task (default: only for large batches)' }),
  ),
});

export const inferenceRoutes: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (
  app,
  { ctx },
) => {
  const limits = ctx.config.serving;

  app.post(
    '/predict',
    {
      config: { multipart: ClassifyMultipartDoc },
      schema: {
        tags: ['inference'],
        summary: 'Synchronous prediction on one image (same answer as /predictions/classify)',
        querystring: ClassifyQuery,
        response: { 200: ClassifyResultSchema, ...errors(400, 401, 404, 413, 415, 429, 503) },
      },
    },
    async (request) => classifyUpload(ctx, request, request.query, 'ml'),
  );

  async function enqueue(
    request: Parameters<typeof principalOf>[0],
    images: { filename: string; data: Buffer }[],
    query: { model?: string; top_k: number },
    fields: Record<string, string>,
  ) {
    const principal = principalOf(request);
    const task = await ctx.tasks.create({
      type: PREDICT_TASK,
      userId: principal.userId,
      payload: {
        model: query.model,
        top_k: query.top_k,
        unit_id: optionalId(fields.unit_id, 'unit_id'),
        device_id: optionalId(fields.device_id, 'device_id'),
        user_id: principal.userId,
        api_key_id: principal.apiKeyId,
        files: images.length,
      },
      files: images,
    });
    return {
      task_id: task.id,
      state: task.state,
      images: images.length,
      status_url: `/api/v1/tasks/${task.id}`,
    };
  }

  app.post(
    '/predict/async',
    {
      config: { multipart: ClassifyMultipartDoc },
      schema: {
        tags: ['inference'],
        summary: 'Queue a prediction on one image; poll the task for the result',
        querystring: Type.Object({
          model: Type.Optional(Type.String({ maxLength: 80 })),
          top_k: Type.Integer({ minimum: 1, maximum: 50, default: 5 }),
        }),
        response: { 202: TaskAccepted, ...errors(400, 401, 413, 415) },
      },
    },
    async (request, reply) => {
      const { files, fields } = await readUpload(request, { fileField: 'file', maxFiles: 1 });
      // The model must exist now, not fail later in the worker.
      await ctx.serving.classifier.decide(request.query.model, undefined).catch(inferenceToHttp);
      return reply.code(202).send(await enqueue(request, files, request.query, fields));
    },
  );

  app.post(
    '/predict/batch',
    {
      config: { multipart: BatchDoc },
      schema: {
        tags: ['inference'],
        summary:
          'Predict on many images (files or archives): answered at once for small batches, as a task for large ones',
        querystring: BatchQuery,
        response: { 200: BatchResult, 202: TaskAccepted, ...errors(400, 401, 413, 415, 503) },
      },
    },
    async (request, reply) => {
      const { files, fields } = await readUpload(request, { fileField: 'files', maxFiles: 256 });
      const images = await expandBatch(files, limits.maxBatchImages, ctx.config.uploads.maxBytes);
      await ctx.serving.classifier.decide(request.query.model, undefined).catch(inferenceToHttp);
      if (request.query.async || images.length > limits.syncBatchMax) {
        return reply.code(202).send(await enqueue(request, images, request.query, fields));
      }
      const principal = principalOf(request);
      const unitId = optionalId(fields.unit_id, 'unit_id');
      const deviceId = optionalId(fields.device_id, 'device_id');
      // All at once: the dynamic batcher runs them together.
      const items: BatchItem[] = await Promise.all(
        images.map(async (img) => {
          try {
            const result = await ctx.serving.classifier.classify({
              image: img.data,
              model: request.query.model,
              unitId,
              deviceId,
              userId: principal.userId,
              apiKeyId: principal.apiKeyId,
              callerId: principal.id,
              source: 'batch',
              topK: request.query.top_k,
            });
            return { filename: img.filename, result };
          } catch (err) {
            if (err instanceof ImageInputError)
              return { filename: img.filename, error: err.message };
            return inferenceToHttp(err);
          }
        }),
      );
      return { summary: summarise(items), items };
    },
  );

  app.get(
    '/models',
    {
      schema: {
        tags: ['inference'],
        summary:
          'Models that can serve predictions, with versions, aliases and what is loaded here',
        response: {
          200: Type.Object({
            default_model: Type.String(),
            items: Type.Array(
              Type.Object({
                name: Type.String(),
                task: Type.String(),
                versions: Type.Array(
                  Type.Object({
                    version: Type.Integer(),
                    aliases: Type.Array(Type.String()),
                    loaded: Type.Boolean(),
                    backbone: Type.Union([Type.String(), Type.Null()]),
                    metrics: Type.Record(Type.String(), Type.Unknown()),
                  }),
                ),
              }),
            ),
          }),
          ...errors(401),
        },
      },
    },
    async () => {
      const [rows, aliases] = await Promise.all([ctx.registry.list(), ctx.registry.aliases()]);
      const loaded = new Set(ctx.serving.runtime.loaded());
      const names = [...new Set(rows.map((r) => r.name))];
      return {
        default_model: limits.defaultModel,
        items: names.map((name) => {
          const versions = rows.filter((r) => r.name === name);
          return {
            name,
            task: versions[0]!.task,
            versions: versions.map((r) => ({
              version: r.version,
              aliases: aliases
                .filter((a) => a.modelName === name && a.version === r.version)
                .map((a) => a.alias),
              loaded: loaded.has(`${name}@${r.version}`),
              backbone: ((r.manifest.backbone as { id?: string } | undefined)?.id ?? null) as
                string | null,
              metrics: r.metrics,
            })),
          };
        }),
      };
    },
  );

  app.get(
    '/models/:version',
    {
      schema: {
        tags: ['inference'],
        summary: 'One version of the default model, with its live serving figures',
        params: Type.Object({ version: Type.Integer({ minimum: 1 }) }),
        response: {
          200: Type.Object({
            name: Type.String(),
            version: Type.Integer(),
            task: Type.String(),
            labels: Type.Array(Type.String()),
            metrics: Type.Record(Type.String(), Type.Unknown()),
            loaded: Type.Boolean(),
            live: Type.Record(Type.String(), Type.Unknown()),
          }),
          ...errors(400, 401, 404),
        },
      },
    },
    async (request) => {
      const name = limits.defaultModel;
      const row = await ctx.registry.get(name, request.params.version);
      if (!row) throw notFound(`No model ${name}@${request.params.version}`);
      return {
        name,
        version: row.version,
        task: row.task,
        labels: (row.manifest.labels as string[]) ?? [],
        metrics: row.metrics,
        loaded: ctx.serving.runtime.loaded().includes(`${name}@${row.version}`),
        live: ctx.serving.stats.of(name, row.version).summary(),
      };
    },
  );
};
