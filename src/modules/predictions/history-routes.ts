import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { badRequest } from '../../http/errors.ts';
import { errors, page, PageQuery } from '../../http/schemas.ts';
import type { AppServices } from '../app-services.ts';
import type { Principal } from '../auth/authenticator.ts';
import { principalOf } from '../auth/plugin.ts';
import { farmsToHttp } from '../farms/errors.ts';
import { type HistoryFilter, toStoredPrediction } from './queries.ts';
import { StoredPredictionSchema } from './schema.ts';

const Filters = Type.Object({
  species: Type.Optional(Type.String({ maxLength: 100 })),
  status: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('unknown')])),
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
  model: Type.Optional(Type.String({ maxLength: 64 })),
  model_version: Type.Optional(Type.Integer({ minimum: 1 })),
  min_confidence: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  unit_id: Type.Optional(
    Type.String({
      maxLength: 100,
      description: 'A farm unit id (404 unless you are a member of its farm) or a unit label',
    }),
  ),
  farm: Type.Optional(
    Type.String({ format: 'uuid', description: 'Only predictions of this farm (members only)' }),
  ),
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
  farm?: string;
};

/**
 * The filter of a history or stats request, scoped to the caller's farms: a farm or farm unit the
 * caller is not a member of answers 404, and other farms' predictions are never listed.
 */
async function scopedFilter(
  ctx: AppServices,
  principal: Principal,
  q: FilterQuery,
): Promise<HistoryFilter> {
  const f = toFilter(q);
  const access = ctx.farms.access;
  const unit = await access.unitRef(principal, q.unit_id, 'viewer').catch(farmsToHttp);
  if (unit.farmUnitId) {
    f.unitId = undefined;
    f.farmUnitId = unit.farmUnitId;
  }
  if (q.farm) {
    await access.farm(principal, q.farm).catch(farmsToHttp);
    f.farmId = q.farm;
  }
  const scope = await access.scope(principal);
  if (!scope.all) f.visibleFarms = scope.farmIds;
  return f;
}

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

/** Stored predictions: the history with filters, and its statistics (scoped to the caller's farms). */
export const predictionHistoryRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  const { writer, queries } = ctx.predictions;

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
      await writer.flush();
      const filter = await scopedFilter(ctx, principalOf(request), request.query);
      const { items, total } = await queries.history(filter, {
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
      await writer.flush();
      return queries.stats(await scopedFilter(ctx, principalOf(request), request.query));
    },
  );
};
