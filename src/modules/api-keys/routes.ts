import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../../context.ts';
import { badRequest, notFound } from '../../http/errors.ts';
import { principalOf } from '../../http/plugins/auth.ts';
import { errors, IdParams, NullableTimestamp, Timestamp } from '../../http/schemas.ts';
import { actorOf } from '../auth/actor.ts';
import { RoleSchema } from '../users/schema.ts';
import { toPublicApiKey } from './service.ts';

const ApiKeySchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  prefix: Type.String({ description: 'First characters of the key, to tell keys apart' }),
  role: RoleSchema,
  created_at: Timestamp,
  expires_at: NullableTimestamp,
  last_used_at: NullableTimestamp,
  revoked_at: NullableTimestamp,
});

export const apiKeyRoutes: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (
  app,
  { ctx },
) => {
  app.get(
    '/',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['api-keys'],
        summary: 'List API keys (admin); secrets are never shown again',
        response: { 200: Type.Object({ items: Type.Array(ApiKeySchema) }), ...errors(401, 403) },
      },
    },
    async () => ({ items: (await ctx.apiKeys.list()).map(toPublicApiKey) }),
  );

  app.post(
    '/',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['api-keys'],
        summary: 'Create an API key for a camera, sensor or script (admin); the key is shown once',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 100 }),
            role: RoleSchema,
            expires_at: Type.Optional(Type.String({ format: 'date-time' })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Intersect([ApiKeySchema, Type.Object({ key: Type.String() })]),
          ...errors(400, 401, 403),
        },
      },
    },
    async (request, reply) => {
      const { name, role, expires_at } = request.body;
      const expiresAt = expires_at ? new Date(expires_at) : null;
      if (expiresAt && expiresAt.getTime() <= Date.now()) {
        throw badRequest('expires_at must be in the future', 'body.expires_at');
      }
      const { key, row } = await ctx.apiKeys.create({
        name,
        role,
        createdBy: principalOf(request).userId,
        expiresAt,
      });
      await ctx.audit.record({
        action: 'api_key.created',
        actor: actorOf(request),
        targetType: 'api_key',
        targetId: row.id,
        details: { name, role, prefix: row.prefix },
      });
      return reply.code(201).send({ ...toPublicApiKey(row), key });
    },
  );

  app.delete(
    '/:id',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['api-keys'],
        summary: 'Revoke an API key (admin)',
        params: IdParams,
        response: { 200: ApiKeySchema, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const row = await ctx.apiKeys.revoke(request.params.id);
      if (!row) throw notFound(`No API key ${request.params.id}`);
      ctx.authenticator.forgetApiKeys();
      await ctx.audit.record({
        action: 'api_key.revoked',
        actor: actorOf(request),
        targetType: 'api_key',
        targetId: row.id,
        details: { name: row.name },
      });
      return toPublicApiKey(row);
    },
  );
};
