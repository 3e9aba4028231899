import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { badRequest } from '../../http/errors.ts';
import { principalOf } from '../auth/plugin.ts';
import { errors } from '../../http/schemas.ts';
import { useFarmErrors } from '../farms/errors.ts';
import { UnitIdParams } from '../farms/schema.ts';
import {
  clearThreshold,
  loadThresholds,
  setThreshold,
  UNIONIZED_AMMONIA,
} from '../rules/thresholds.ts';
import { METRIC_NAMES } from './catalog.ts';

const tags = ['telemetry'];

const ThresholdMetric = Type.Union(
  [...METRIC_NAMES, UNIONIZED_AMMONIA].map((m) => Type.Literal(m)),
);

const RangeSchema = Type.Object({
  min: Type.Union([Type.Number(), Type.Null()]),
  max: Type.Union([Type.Number(), Type.Null()]),
  origin: Type.Union([Type.Literal('species'), Type.Literal('unit')]),
  source: Type.Optional(Type.String()),
});

/** A unit's alert thresholds under /units: the species' cited ranges, overridden per unit. */
export const unitThresholdRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  units,
  { ctx },
) => {
  const { telemetry } = ctx;
  useFarmErrors(units);
  const access = ctx.farms.access;

  units.get(
    '/:id/thresholds',
    {
      schema: {
        tags,
        summary:
          "A unit's alert thresholds: its stocked species' cited ranges, overridden per unit",
        params: UnitIdParams,
        response: { 200: Type.Record(Type.String(), RangeSchema), ...errors(401, 404) },
      },
    },
    async (request) => {
      await access.unit(principalOf(request), request.params.id);
      return loadThresholds(ctx.db, request.params.id);
    },
  );

  units.put(
    '/:id/thresholds/:metric',
    {
      schema: {
        tags,
        summary: "Override a metric's range for this unit (farm operators); both null: no rule",
        params: Type.Object({ id: Type.String({ format: 'uuid' }), metric: ThresholdMetric }),
        body: Type.Object({
          min: Type.Union([Type.Number(), Type.Null()]),
          max: Type.Union([Type.Number(), Type.Null()]),
        }),
        response: {
          200: Type.Record(Type.String(), RangeSchema),
          ...errors(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const p = principalOf(request);
      await access.unit(p, request.params.id, 'operator');
      const { min, max } = request.body;
      if (min !== null && max !== null && min >= max) {
        throw badRequest('min must be below max', 'body.min');
      }
      await setThreshold(ctx.db, request.params.id, request.params.metric, { min, max }, p.userId);
      telemetry.rules.invalidate(request.params.id);
      return loadThresholds(ctx.db, request.params.id);
    },
  );

  units.delete(
    '/:id/thresholds/:metric',
    {
      schema: {
        tags,
        summary: "Drop the unit's override: the species' range applies again (farm operators)",
        params: Type.Object({ id: Type.String({ format: 'uuid' }), metric: ThresholdMetric }),
        response: { 200: Type.Record(Type.String(), RangeSchema), ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      await access.unit(principalOf(request), request.params.id, 'operator');
      await clearThreshold(ctx.db, request.params.id, request.params.metric);
      telemetry.rules.invalidate(request.params.id);
      return loadThresholds(ctx.db, request.params.id);
    },
  );
};
