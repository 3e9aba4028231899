import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { badRequest, notFound } from '../../http/errors.ts';
import { principalOf } from '../auth/plugin.ts';
import {
  errors,
  IdParams,
  NullableTimestamp,
  page,
  PageQuery,
  Timestamp,
} from '../../http/schemas.ts';
import { API_KEY_MAX_ROLE, ROLE_RANK } from '../auth/authenticator.ts';
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

export const apiKeyRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  app.get(
    '',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['api-keys'],
        summary: 'List API keys, newest first (admin); secrets are never shown again',
        querystring: PageQuery,
        response: { 200: page(ApiKeySchema), ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const { limit, offset } = request.query;
      const { items, total } = await ctx.apiKeys.list({ limit, offset });
      return { items: items.map(toPublicApiKey), total, limit, offset };
    },
  );

  app.post(
    '',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['api-keys'],
        summary: 'Create an API key for a camera, sensor or script (admin); the key is shown once',
        description: `A key's role is at most ${API_KEY_MAX_ROLE}: keys never carry admin (SECURITY.md).`,
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
      if (ROLE_RANK[role] > ROLE_RANK[API_KEY_MAX_ROLE]) {
        throw badRequest(
          `role must be viewer or ${API_KEY_MAX_ROLE}: API keys never carry admin`,
          'body.role',
        );
      }
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
