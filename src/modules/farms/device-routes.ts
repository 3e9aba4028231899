import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { deviceOf, principalOf } from '../auth/plugin.ts';
import { errors, IdParams } from '../../http/schemas.ts';
import { actorOf } from '../auth/actor.ts';
import { toPublicDevice } from './devices.ts';
import { useFarmErrors } from './errors.ts';
import { DeviceKindSchema, DevicePatch, DeviceSchema, DeviceWithKeySchema } from './schema.ts';

const tags = ['devices'];

export const deviceRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  useFarmErrors(app);
  const { access, devices } = ctx.farms;

  app.get(
    '/me',
    {
      config: { auth: 'device' },
      schema: {
        tags,
        summary: 'The device a device key speaks for (X-API-Key of a device)',
        response: {
          200: Type.Object({
            device_id: Type.String({ format: 'uuid' }),
            unit_id: Type.String({ format: 'uuid' }),
            farm_id: Type.String({ format: 'uuid' }),
            kind: DeviceKindSchema,
            name: Type.String(),
          }),
          ...errors(401, 403),
        },
      },
    },
    async (request) => {
      const d = deviceOf(request);
      return {
        device_id: d.deviceId,
        unit_id: d.unitId,
        farm_id: d.farmId,
        kind: d.kind,
        name: d.name,
      };
    },
  );

  app.get(
    '/:id',
    {
      schema: {
        tags,
        summary: 'One device',
        params: IdParams,
        response: { 200: DeviceSchema, ...errors(401, 404) },
      },
    },
    async (request) => toPublicDevice(await access.device(principalOf(request), request.params.id)),
  );

  app.patch(
    '/:id',
    {
      schema: {
        tags,
        summary: 'Rename, disable or re-enable a device (farm managers)',
        params: IdParams,
        body: DevicePatch,
        response: { 200: DeviceSchema, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      await access.device(principalOf(request), request.params.id, 'manager');
      const row = await devices.update(request.params.id, request.body);
      await ctx.audit.record({
        action: 'device.updated',
        actor: actorOf(request),
        targetType: 'device',
        targetId: row.id,
        details: { ...request.body },
      });
      return toPublicDevice(row);
    },
  );

  app.post(
    '/:id/rotate-key',
    {
      schema: {
        tags,
        summary: 'Issue a new key for a device (farm managers); the old key stops working at once',
        params: IdParams,
        response: { 200: DeviceWithKeySchema, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      await access.device(principalOf(request), request.params.id, 'manager');
      const { row, key } = await devices.rotate(request.params.id);
      await ctx.audit.record({
        action: 'device.key_rotated',
        actor: actorOf(request),
        targetType: 'device',
        targetId: row.id,
        details: { prefix: row.keyPrefix },
      });
      return { ...toPublicDevice(row), api_key: key };
    },
  );

  app.delete(
    '/:id',
    {
      schema: {
        tags,
        summary: 'Delete a device (farm managers); its key stops working at once',
        params: IdParams,
        response: { 204: Type.Null(), ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const device = await access.device(principalOf(request), request.params.id, 'manager');
      await devices.delete(device.id);
      await ctx.audit.record({
        action: 'device.deleted',
        actor: actorOf(request),
        targetType: 'device',
        targetId: device.id,
      });
      return reply.code(204).send(null);
    },
  );
};
