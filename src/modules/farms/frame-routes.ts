import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { deviceOf, principalOf } from '../auth/plugin.ts';
import { errors, Timestamp } from '../../http/schemas.ts';
import { readUpload } from '../../http/upload.ts';
import { TopKQuery } from '../predictions/classify-request.ts';
import { inferenceToHttp } from '../predictions/errors.ts';
import { ClassifyResultSchema } from '../predictions/schema.ts';
import { FarmEntityNotFoundError, FarmRoleError, useFarmErrors } from './errors.ts';
import { rangeOf } from './range.ts';
import { UnitIdParams } from './schema.ts';
import { speciesCounts } from './species-counts.ts';
import { stepSeconds } from './step.ts';

const FrameDoc = Type.Object({
  file: Type.String({ format: 'binary', description: 'JPEG, PNG, WebP, GIF, TIFF or AVIF frame' }),
});

const Counts = {
  total: Type.Integer(),
  unknown: Type.Integer(),
  unknown_rate: Type.Union([Type.Number(), Type.Null()]),
  species: Type.Array(Type.Object({ species: Type.String(), count: Type.Integer() })),
};

export const frameRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  useFarmErrors(app);

  app.post(
    '/:id/frames',
    {
      config: { auth: 'device', multipart: FrameDoc },
      schema: {
        tags: ['cameras'],
        summary:
          "A camera's frame, classified with the unit attached (X-API-Key of a camera of the unit)",
        description:
          'multipart/form-data with the image in "file". Classified through the same serving path as /predictions/classify and stored with the unit, its farm and the camera, so /units/{id}/species-counts counts it. The frame itself is kept only when AQUAML_KEEP_FRAMES is set.',
        params: UnitIdParams,
        querystring: Type.Object({
          model: Type.Optional(Type.String({ maxLength: 80 })),
          top_k: TopKQuery,
          health: Type.Boolean({ default: true }),
        }),
        response: { 200: ClassifyResultSchema, ...errors(400, 401, 403, 404, 413, 415, 429, 503) },
      },
    },
    async (request) => {
      const device = deviceOf(request);
      if (device.unitId !== request.params.id) {
        throw new FarmEntityNotFoundError('unit', request.params.id);
      }
      if (device.kind !== 'camera') throw new FarmRoleError('Only a camera posts frames');
      const { files } = await readUpload(request, { fileField: 'file', maxFiles: 1 });
      return ctx.serving.classifier
        .classify({
          image: files[0]!.data,
          model: request.query.model,
          unitId: device.unitId,
          farmUnitId: device.unitId,
          farmId: device.farmId,
          deviceId: device.deviceId,
          userId: null,
          apiKeyId: null,
          callerId: device.deviceId,
          source: 'camera',
          topK: request.query.top_k,
          health: request.query.health,
          keepImage: ctx.config.serving.keepFrames,
        })
        .catch(inferenceToHttp);
    },
  );

  app.get(
    '/:id/species-counts',
    {
      schema: {
        tags: ['cameras'],
        summary: 'Species seen in a unit over time: predictions per species and unknown rate',
        description:
          'Counts the predictions attached to the unit (camera frames, and classifications sent with the unit id) in buckets of `step` (30s, 5m, 1h, 1d; default: at most 200 buckets), aligned on `from`. unknown_rate = unknown / total per bucket. Buckets without predictions are left out.',
        params: UnitIdParams,
        querystring: Type.Object({
          from: Timestamp,
          to: Type.Optional(Timestamp),
          step: Type.Optional(Type.String({ maxLength: 12 })),
        }),
        response: {
          200: Type.Object({
            unit_id: Type.String({ format: 'uuid' }),
            from: Timestamp,
            to: Timestamp,
            step_seconds: Type.Integer(),
            items: Type.Array(Type.Object({ ts: Timestamp, ...Counts })),
            totals: Type.Object(Counts),
          }),
          ...errors(400, 401, 404),
        },
      },
    },
    async (request) => {
      const { unit } = await ctx.farms.access.unit(principalOf(request), request.params.id);
      const { from, to } = rangeOf(request.query);
      const step = stepSeconds(request.query.step, from, to);
      await ctx.predictions.writer.flush();
      const counts = await speciesCounts(ctx.db, unit.id, from, to, step);
      return {
        unit_id: unit.id,
        from: from.toISOString(),
        to: to.toISOString(),
        step_seconds: step,
        ...counts,
      };
    },
  );
};
