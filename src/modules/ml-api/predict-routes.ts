import { rm } from 'node:fs/promises';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { accepted, taskUrl } from '../../http/accepted.ts';
import { errors } from '../../http/schemas.ts';
import { readUpload, spoolUpload } from '../../http/upload.ts';
import { ImageInputError } from '../../ml/preprocess.ts';
import type { AppServices } from '../app-services.ts';
import { principalOf } from '../auth/plugin.ts';
import { farmsToHttp } from '../farms/errors.ts';
import type { TaskInputFile } from '../tasks/inputs.ts';
import {
  ClassifyQuery,
  classifyUpload,
  optionalId,
  requestedModel,
  TopKQuery,
} from '../predictions/classify-request.ts';
import { inferenceToHttp } from '../predictions/errors.ts';
import { ClassifyMultipartDoc, ClassifyResultSchema } from '../predictions/schema.ts';
import { type BatchItem, PREDICT_IMAGE_TASK, PREDICT_TASK, summarise } from './predict-task.ts';
import { BatchDoc, BatchQuery, BatchResult, TaskAccepted } from './schema.ts';
import { expandBatch } from './upload-bundles.ts';

/** /ml/predict: one image now, one image as a task, or a batch (files and zip/tar bundles). */
export const mlPredictRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
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
    reply: FastifyReply,
    type: typeof PREDICT_TASK | typeof PREDICT_IMAGE_TASK,
    images: TaskInputFile[],
    query: { model?: string; top_k: number },
    fields: Record<string, string>,
    receivedAt: Date,
    extra: { sha256?: string } = {},
  ) {
    const principal = principalOf(request);
    const unit = await ctx.farms.access
      .unitRef(principal, optionalId(fields.unit_id, 'unit_id'))
      .catch(farmsToHttp);
    const task = await ctx.tasks.create({
      type,
      userId: principal.userId,
      apiKeyId: principal.apiKeyId,
      payload: {
        model: requestedModel(query, fields),
        top_k: query.top_k,
        unit_id: unit.unitId,
        farm_unit_id: unit.farmUnitId,
        farm_id: unit.farmId,
        device_id: optionalId(fields.device_id, 'device_id'),
        user_id: principal.userId,
        api_key_id: principal.apiKeyId,
        received_at: receivedAt.toISOString(),
        files: images.length,
        ...extra,
      },
      files: images,
    });
    return accepted(reply, task.id).send({
      task_id: task.id,
      type,
      state: task.state,
      images: images.length,
      task_url: taskUrl(task.id),
    });
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
          top_k: TopKQuery,
        }),
        response: { 202: TaskAccepted, ...errors(400, 401, 404, 413, 415, 503) },
      },
    },
    async (request, reply) => {
      const receivedAt = new Date();
      // Written to the task's input store as it arrives: a large image is never held in memory.
      const { file, fields } = await spoolUpload(request, {
        fileField: 'file',
        dir: ctx.tasks.spoolDir,
      });
      try {
        // The model must exist and the file be an image now, not fail later in the worker.
        await ctx.serving.classifier
          .decide(requestedModel(request.query, fields), undefined)
          .catch(inferenceToHttp);
        await ctx.serving.classifier
          .inspect({ path: file.path, bytes: file.bytes })
          .catch(inferenceToHttp);
        return await enqueue(
          request,
          reply,
          PREDICT_IMAGE_TASK,
          [{ filename: file.filename, path: file.path }],
          request.query,
          fields,
          receivedAt,
          { sha256: file.sha256 },
        );
      } finally {
        // Moved into the task's inputs when it was created; otherwise it is not needed.
        await rm(file.path, { force: true });
      }
    },
  );

  app.post(
    '/predict/batch',
    {
      config: { multipart: BatchDoc },
      schema: {
        tags: ['inference'],
        summary:
          'Predict on many images (image files, or zip/tar bundles of them): answered at once for small batches, as a task for large ones',
        querystring: BatchQuery,
        response: {
          200: BatchResult,
          202: TaskAccepted,
          ...errors(400, 401, 404, 413, 415, 503),
        },
      },
    },
    async (request, reply) => {
      const receivedAt = new Date();
      const uploads = ctx.config.uploads;
      const { files, fields } = await readUpload(request, {
        fileField: 'files',
        maxFiles: 256,
        maxTotalBytes: uploads.maxBatchBytes,
      });
      const images = await expandBatch(files, {
        maxImages: limits.maxBatchImages,
        maxEntryBytes: uploads.maxBytes,
        maxTotalBytes: uploads.maxBatchBytes,
        maxRatio: uploads.maxCompressionRatio,
      });
      const model = requestedModel(request.query, fields);
      await ctx.serving.classifier.decide(model, undefined).catch(inferenceToHttp);
      if (request.query.async || images.length > limits.syncBatchMax) {
        return enqueue(request, reply, PREDICT_TASK, images, request.query, fields, receivedAt);
      }
      const principal = principalOf(request);
      const unit = await ctx.farms.access
        .unitRef(principal, optionalId(fields.unit_id, 'unit_id'))
        .catch(farmsToHttp);
      const deviceId = optionalId(fields.device_id, 'device_id');
      // All at once: the dynamic batcher runs them together.
      const items: BatchItem[] = await Promise.all(
        images.map(async (img) => {
          try {
            const result = await ctx.serving.classifier.classify({
              image: img.data,
              model,
              ...unit,
              deviceId,
              userId: principal.userId,
              apiKeyId: principal.apiKeyId,
              callerId: principal.id,
              source: 'batch',
              topK: request.query.top_k,
              receivedAt,
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
};
