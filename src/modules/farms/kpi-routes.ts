import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppServices } from '../app-services.ts';
import { principalOf } from '../auth/plugin.ts';
import { errors, IdParams } from '../../http/schemas.ts';
import { useFarmErrors } from './errors.ts';
import { rangeOf } from './range.ts';
import { FarmKpisSchema, KPI_FORMULAS, Period, UnitKpisSchema } from './kpi-schema.ts';
import { UnitIdParams } from './schema.ts';

/** KPIs per unit and per farm over a period. */
export const kpiRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (app, { ctx }) => {
  useFarmErrors(app);
  const { access, kpis } = ctx.farms;
  const tags = ['kpis'];

  app.get(
    '/units/:id/kpis',
    {
      schema: {
        tags,
        summary: 'Production and water-quality KPIs of a unit over a period',
        description: KPI_FORMULAS,
        params: UnitIdParams,
        querystring: Period,
        response: { 200: UnitKpisSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { unit } = await access.unit(principalOf(request), request.params.id);
      const { from, to } = rangeOf(request.query);
      return kpis.unit(unit, from, to);
    },
  );

  app.get(
    '/farms/:id/kpis',
    {
      schema: {
        tags,
        summary: 'KPIs of a farm over a period, with each unit',
        description: KPI_FORMULAS,
        params: IdParams,
        querystring: Period,
        response: { 200: FarmKpisSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { farm } = await access.farm(principalOf(request), request.params.id);
      const { from, to } = rangeOf(request.query);
      return kpis.farm(farm.id, from, to);
    },
  );
};
