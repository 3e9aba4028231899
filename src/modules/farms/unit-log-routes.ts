import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { principalOf } from '../auth/plugin.ts';
import { errors, page, PageQuery } from '../../http/schemas.ts';
import { useFarmErrors } from './errors.ts';
import { toPublicLog } from './logs.ts';
import { rangeOf } from './range.ts';
import { LogBody, LogParams, LogPatch, LogQuery, LogSchema, UnitIdParams } from './schema.ts';

/** A unit's production log: stocking, feeding, mortality, harvest and the other entries. */
export const unitLogRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  useFarmErrors(app);
  const { access, logs } = ctx.farms;

  app.post(
    '/:id/logs',
    {
      schema: {
        tags: ['logs'],
        summary: 'Record an operational event on a unit (farm operators)',
        params: UnitIdParams,
        body: LogBody,
        response: { 201: LogSchema, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const { unit } = await access.unit(p, request.params.id, 'operator');
      return reply.code(201).send(toPublicLog(await logs.create(unit, request.body, p.userId)));
    },
  );

  app.get(
    '/:id/logs',
    {
      schema: {
        tags: ['logs'],
        summary: 'Log entries of a unit, newest first',
        params: UnitIdParams,
        querystring: Type.Intersect([LogQuery, PageQuery]),
        response: { 200: page(LogSchema), ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      await access.unit(principalOf(request), request.params.id);
      const { kind, limit, offset } = request.query;
      const { items, total } = await logs.page(
        { unitId: request.params.id },
        { kind, ...rangeOf(request.query, { optional: true }) },
        { limit, offset },
      );
      return { items: items.map(toPublicLog), total, limit, offset };
    },
  );

  app.get(
    '/:id/logs/:logId',
    {
      schema: {
        tags: ['logs'],
        summary: 'One log entry',
        params: LogParams,
        response: { 200: LogSchema, ...errors(401, 404) },
      },
    },
    async (request) => {
      await access.unit(principalOf(request), request.params.id);
      return toPublicLog(await logs.get(request.params.id, request.params.logId));
    },
  );

  app.patch(
    '/:id/logs/:logId',
    {
      schema: {
        tags: ['logs'],
        summary: 'Correct a log entry (farm operators); who and when are recorded',
        params: LogParams,
        body: LogPatch,
        response: { 200: LogSchema, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const p = principalOf(request);
      await access.unit(p, request.params.id, 'operator');
      const existing = await logs.get(request.params.id, request.params.logId);
      return toPublicLog(await logs.update(existing, request.body, p.userId));
    },
  );

  app.delete(
    '/:id/logs/:logId',
    {
      schema: {
        tags: ['logs'],
        summary: 'Delete a log entry (farm operators)',
        params: LogParams,
        response: { 204: Type.Null(), ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await access.unit(principalOf(request), request.params.id, 'operator');
      const existing = await logs.get(request.params.id, request.params.logId);
      await logs.delete(existing.id);
      return reply.code(204).send(null);
    },
  );
};
