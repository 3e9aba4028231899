import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { principalOf } from '../auth/plugin.ts';
import { errors, IdParams, page, PageQuery } from '../../http/schemas.ts';
import { useFarmErrors } from './errors.ts';
import { toPublicLog } from './logs.ts';
import { CreatedSchema, LogQuery, LogSchema, UnitBody, UnitSchema } from './schema.ts';
import { toPublicUnit } from './units.ts';
import { rangeOf } from './range.ts';

const tags = ['farms'];

/** A farm's units (create, list) and the logs of all its units. */
export const farmUnitRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  useFarmErrors(app);
  const { access, units, logs } = ctx.farms;

  app.post(
    '/:id/units',
    {
      schema: {
        tags,
        summary: 'Add a unit (tank, pen, pond, raceway, cage) to a farm (farm managers)',
        params: IdParams,
        body: UnitBody,
        response: { 201: CreatedSchema, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const { farm } = await access.farm(p, request.params.id, 'manager');
      const unit = await units.create(farm.id, request.body, p.userId);
      return reply.code(201).send({ id: unit.id });
    },
  );

  app.get(
    '/:id/units',
    {
      schema: {
        tags,
        summary: 'The units of a farm',
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(UnitSchema) }), ...errors(401, 404) },
      },
    },
    async (request) => {
      await access.farm(principalOf(request), request.params.id);
      return { items: (await units.listByFarm(request.params.id)).map(toPublicUnit) };
    },
  );

  app.get(
    '/:id/logs',
    {
      schema: {
        tags,
        summary: 'Operational log entries of every unit of a farm, newest first',
        params: IdParams,
        querystring: Type.Intersect([LogQuery, PageQuery]),
        response: { 200: page(LogSchema), ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      await access.farm(principalOf(request), request.params.id);
      const { kind, limit, offset } = request.query;
      const { items, total } = await logs.page(
        { farmId: request.params.id },
        { kind, ...rangeOf(request.query, { optional: true }) },
        { limit, offset },
      );
      return { items: items.map(toPublicLog), total, limit, offset };
    },
  );
};
