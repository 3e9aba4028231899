import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { principalOf } from '../auth/plugin.ts';
import { errors, IdParams } from '../../http/schemas.ts';
import { actorOf } from '../auth/actor.ts';
import { useFarmErrors } from './errors.ts';
import { toPublicFarm } from './farms.ts';
import { CreatedSchema, FarmBody, FarmSchema } from './schema.ts';

const tags = ['farms'];

/** Farms: create, list, read, rename, delete (members and managers as the farm's roles allow). */
export const farmRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (app, { ctx }) => {
  useFarmErrors(app);
  const { access, farms } = ctx.farms;

  app.post(
    '/',
    {
      config: { auth: 'operator' },
      schema: {
        tags,
        summary: 'Create a farm (site); its creator becomes its manager',
        body: FarmBody,
        response: { 201: CreatedSchema, ...errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const farm = await farms.create(request.body, p.userId);
      await ctx.audit.record({
        action: 'farm.created',
        actor: actorOf(request),
        targetType: 'farm',
        targetId: farm.id,
        details: { name: farm.name },
      });
      return reply.code(201).send({ id: farm.id });
    },
  );

  app.get(
    '/',
    {
      schema: {
        tags,
        summary: 'The farms you are a member of (admins: all), with your role and unit count',
        response: { 200: Type.Object({ items: Type.Array(FarmSchema) }), ...errors(401) },
      },
    },
    async (request) => {
      const p = principalOf(request);
      const rows = await farms.list(await access.scope(p), p.userId);
      const admin = p.role === 'admin' && p.kind !== 'device';
      return {
        items: rows.map((r) =>
          toPublicFarm(r.farm, r.memberRole ?? (admin ? 'manager' : 'viewer'), r.units),
        ),
      };
    },
  );

  app.get(
    '/:id',
    {
      schema: {
        tags,
        summary: 'One farm',
        params: IdParams,
        response: { 200: FarmSchema, ...errors(401, 404) },
      },
    },
    async (request) => {
      const { farm, role } = await access.farm(principalOf(request), request.params.id);
      return toPublicFarm(farm, role);
    },
  );

  app.patch(
    '/:id',
    {
      schema: {
        tags,
        summary: 'Change a farm (farm managers)',
        params: IdParams,
        body: Type.Partial(FarmBody, { additionalProperties: false }),
        response: { 200: FarmSchema, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { role } = await access.farm(principalOf(request), request.params.id, 'manager');
      return toPublicFarm(await farms.update(request.params.id, request.body), role);
    },
  );

  app.delete(
    '/:id',
    {
      schema: {
        tags,
        summary: 'Delete a farm with its units, devices, logs and predictions (farm managers)',
        params: IdParams,
        response: { 204: Type.Null(), ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { farm } = await access.farm(principalOf(request), request.params.id, 'manager');
      await farms.delete(farm.id);
      ctx.farms.devices.forgetKeys();
      await ctx.audit.record({
        action: 'farm.deleted',
        actor: actorOf(request),
        targetType: 'farm',
        targetId: farm.id,
        details: { name: farm.name },
      });
      return reply.code(204).send(null);
    },
  );
};
