import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { principalOf } from '../auth/plugin.ts';
import { errors } from '../../http/schemas.ts';
import { actorOf } from '../auth/actor.ts';
import { toPublicDevice } from './devices.ts';
import { useFarmErrors } from './errors.ts';
import {
  DeviceBody,
  DeviceSchema,
  DeviceWithKeySchema,
  UnitIdParams,
  UnitPatch,
  UnitSchema,
} from './schema.ts';
import { toPublicUnit } from './units.ts';

const tags = ['farms'];

/** One unit: read, change, delete; its devices (sensors and cameras) and their keys. */
export const unitRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (app, { ctx }) => {
  useFarmErrors(app);
  const { access, units, devices } = ctx.farms;

  app.get(
    '/:id',
    {
      schema: {
        tags,
        summary: 'One unit',
        params: UnitIdParams,
        response: { 200: UnitSchema, ...errors(401, 404) },
      },
    },
    async (request) =>
      toPublicUnit((await access.unit(principalOf(request), request.params.id)).unit),
  );

  app.patch(
    '/:id',
    {
      schema: {
        tags,
        summary:
          'Change a unit (farm managers). Stocking fields describe the unit; record stockings and harvests in its log for the KPIs.',
        params: UnitIdParams,
        body: UnitPatch,
        response: { 200: UnitSchema, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      await access.unit(principalOf(request), request.params.id, 'manager');
      return toPublicUnit(await units.update(request.params.id, request.body));
    },
  );

  app.delete(
    '/:id',
    {
      schema: {
        tags,
        summary: 'Delete a unit with its devices and logs (farm managers)',
        params: UnitIdParams,
        response: { 204: Type.Null(), ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await access.unit(principalOf(request), request.params.id, 'manager');
      await units.delete(request.params.id);
      devices.forgetKeys();
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/:id/devices',
    {
      schema: {
        tags: ['devices'],
        summary: 'Add a sensor or camera to a unit (farm managers); its API key is shown once',
        params: UnitIdParams,
        body: DeviceBody,
        response: { 201: DeviceWithKeySchema, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const { unit } = await access.unit(p, request.params.id, 'manager');
      const { row, key } = await devices.create(unit, request.body, p.userId);
      await ctx.audit.record({
        action: 'device.created',
        actor: actorOf(request),
        targetType: 'device',
        targetId: row.id,
        details: { unit_id: unit.id, farm_id: unit.farmId, kind: row.kind, prefix: row.keyPrefix },
      });
      return reply.code(201).send({ ...toPublicDevice(row), api_key: key });
    },
  );

  app.get(
    '/:id/devices',
    {
      schema: {
        tags: ['devices'],
        summary: 'The devices of a unit (keys are never shown again)',
        params: UnitIdParams,
        response: { 200: Type.Object({ items: Type.Array(DeviceSchema) }), ...errors(401, 404) },
      },
    },
    async (request) => {
      await access.unit(principalOf(request), request.params.id);
      return { items: (await devices.listByUnit(request.params.id)).map(toPublicDevice) };
    },
  );
};
