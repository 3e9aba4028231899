import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../../context.ts';
import { badRequest, notFound } from '../../http/errors.ts';
import { principalOf } from '../../http/plugins/auth.ts';
import { errors, page, PageQuery } from '../../http/schemas.ts';
import { ClassifyQuery, classifyUpload } from './classify-request.ts';
import { inferenceToHttp } from './errors.ts';
import { type HistoryFilter, toStoredPrediction } from './queries.ts';
import { ClassifyMultipartDoc, ClassifyResultSchema, StoredPredictionSchema } from './schema.ts';

const Filters = Type.Object({
  species: Type.Optional(Type.String({ maxLength: 100 })),
  status: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('unknown')])),
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
  model: Type.Optional(Type.String({ maxLength: 64 })),
  model_version: Type.Optional(Type.Integer({ minimum: 1 })),
  min_confidence: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  unit_id: Type.Optional(Type.String({ maxLength: 100 })),
});

type FilterQuery = {
  species?: string;
  status?: 'ok' | 'unknown';
  from?: string;
  to?: string;
  model?: string;
  model_version?: number;
  min_confidence?: number;
  unit_id?: string;
};

function toFilter(q: FilterQuery): HistoryFilter {
  const f: HistoryFilter = {
    species: q.species,
    status: q.status,
    from: q.from ? new Date(q.from) : undefined,
    to: q.to ? new Date(q.to) : undefined,
    model: q.model,
    modelVersion: q.model_version,
    minConfidence: q.min_confidence,
    unitId: q.unit_id,
  };
  if (f.from && f.to && f.from > f.to)
    throw badRequest('from must not be after to', 'querystring.from');
  return f;
}

export const predictionRoutes: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (
  app,
  { ctx },
) => {
  const serving = ctx.serving;

  app.post(
    '/classify',
    {
      config: { multipart: ClassifyMultipartDoc },
      schema: {
        tags: ['predictions'],
        summary:
          'Classify a fish image: species, health (when a health model is registered), top-k',
        description:
          'multipart/form-data with the image in "file". Unknown fish or non-fish images come back with status "unknown" and the candidates listed. The prediction is stored.',
        querystring: ClassifyQuery,
        response: { 200: ClassifyResultSchema, ...errors(400, 401, 403, 404, 413, 415, 429, 503) },
      },
    },
    async (request) => classifyUpload(ctx, request, request.query, 'api'),
  );

  app.get(
    '/history',
    {
      schema: {
        tags: ['predictions'],
        summary: 'Stored predictions, newest first, with filters',
        querystring: Type.Intersect([Filters, PageQuery]),
        response: { 200: page(StoredPredictionSchema), ...errors(400, 401) },
      },
    },
    async (request) => {
      const { limit, offset } = request.query;
      await serving.writer.flush();
      const { items, total } = await serving.queries.history(toFilter(request.query), {
        limit,
        offset,
      });
      return { items: items.map(toStoredPrediction), total, limit, offset };
    },
  );

  app.get(
    '/stats',
    {
      schema: {
        tags: ['predictions'],
        summary:
          'Counts per species and day, mean confidence, unknown rate, accuracy from feedback',
        querystring: Filters,
        response: {
          200: Type.Object({
            total: Type.Integer(),
            unknown_rate: Type.Union([Type.Number(), Type.Null()]),
            mean_confidence: Type.Union([Type.Number(), Type.Null()]),
            feedback: Type.Object({
              count: Type.Integer(),
              accuracy: Type.Union([Type.Number(), Type.Null()]),
            }),
            per_species: Type.Array(
              Type.Object({
                species: Type.String(),
                count: Type.Integer(),
                mean_confidence: Type.Number(),
              }),
            ),
            per_day: Type.Array(
              Type.Object({
                day: Type.String(),
                species: Type.Union([Type.String(), Type.Null()]),
                status: Type.String(),
                count: Type.Integer(),
              }),
            ),
          }),
          ...errors(400, 401),
        },
      },
    },
    async (request) => {
      await serving.writer.flush();
      return serving.queries.stats(toFilter(request.query));
    },
  );

  app.get(
    '/species',
    {
      schema: {
        tags: ['predictions'],
        summary:
          'The species the serving classifier recognises, with names and water-quality ranges',
        querystring: Type.Object({ model: Type.Optional(Type.String({ maxLength: 64 })) }),
        response: {
          200: Type.Object({
            model: Type.Object({ name: Type.String(), version: Type.Integer() }),
            items: Type.Array(
              Type.Object({
                label: Type.String(),
                scientific_name: Type.Union([Type.String(), Type.Null()]),
                common_name: Type.Union([Type.String(), Type.Null()]),
                known_to_database: Type.Boolean(),
              }),
            ),
          }),
          ...errors(401, 404, 503),
        },
      },
    },
    async (request) => {
      const name = request.query.model ?? ctx.config.serving.defaultModel;
      const row = await ctx.registry.resolve({ name, selector: 'champion' }).catch(inferenceToHttp);
      const labels = (row.manifest.labels as string[]) ?? [];
      const info = (row.manifest.label_info ?? {}) as Record<
        string,
        { scientific_name?: string; display_name?: string }
      >;
      const known = new Map((await ctx.species.list()).map((s) => [s.code, s]));
      return {
        model: { name: row.name, version: row.version },
        items: labels.map((label) => {
          const s = known.get(label);
          return {
            label,
            scientific_name: s?.scientificName ?? info[label]?.scientific_name ?? null,
            common_name: s?.commonName ?? info[label]?.display_name ?? null,
            known_to_database: Boolean(s),
          };
        }),
      };
    },
  );

  app.post(
    '/:id/feedback',
    {
      schema: {
        tags: ['predictions'],
        summary: 'Record the true label of a prediction (for accuracy monitoring and retraining)',
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        body: Type.Object(
          {
            label: Type.String({
              minLength: 1,
              maxLength: 100,
              description:
                'One of the model labels, or "unknown" for a fish it does not know / not a fish',
            }),
            note: Type.Optional(Type.String({ maxLength: 2000 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: StoredPredictionSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { id } = request.params;
      await serving.writer.flush();
      const existing = await serving.queries.get(id);
      if (!existing) throw notFound(`No prediction ${id}`);
      const model = await ctx.registry.get(existing.modelName, existing.modelVersion);
      const labels = (model?.manifest.labels as string[] | undefined) ?? [];
      const { label, note } = request.body;
      if (label !== 'unknown' && labels.length && !labels.includes(label)) {
        throw badRequest(
          `label must be one of the model's labels (${labels.join(', ')}) or "unknown"`,
          'body.label',
        );
      }
      const row = await serving.queries.setFeedback(
        id,
        label,
        note ?? null,
        principalOf(request).userId,
      );
      return toStoredPrediction(row!);
    },
  );
};
