import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { conflict, notFound } from '../../http/errors.ts';
import { principalOf } from '../auth/plugin.ts';
import { errors, IdParams, page, PageQuery } from '../../http/schemas.ts';
import { actorOf } from '../auth/actor.ts';
import { userInputToHttp } from '../auth/routes.ts';
import { accountFields, PublicUserSchema, RoleSchema } from './schema.ts';
import { toPublicUser } from './service.ts';

export const userRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (app, { ctx }) => {
  app.get(
    '',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['users'],
        summary: 'List users (admin)',
        querystring: PageQuery,
        response: { 200: page(PublicUserSchema), ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const { limit, offset } = request.query;
      const { items, total } = await ctx.users.list({ limit, offset });
      return { items: items.map(toPublicUser), total, limit, offset };
    },
  );

  app.post(
    '',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['users'],
        summary: 'Create a user with any role (admin)',
        body: Type.Object({ ...accountFields, role: RoleSchema }, { additionalProperties: false }),
        response: { 201: PublicUserSchema, ...errors(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const user = await ctx.users
        .create({
          email: b.email,
          username: b.username,
          password: b.password,
          fullName: b.full_name,
          role: b.role,
        })
        .catch(userInputToHttp);
      await ctx.audit.record({
        action: 'user.created',
        actor: actorOf(request),
        targetType: 'user',
        targetId: user.id,
        details: { role: user.role, username: user.username },
      });
      return reply.code(201).send(toPublicUser(user));
    },
  );

  app.get(
    '/:id',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['users'],
        summary: 'One user (admin)',
        params: IdParams,
        response: { 200: PublicUserSchema, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const user = await ctx.users.findById(request.params.id);
      if (!user) throw notFound(`No user ${request.params.id}`);
      return toPublicUser(user);
    },
  );

  app.patch(
    '/:id',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['users'],
        summary: "Change a user's role or enable/disable the account (admin)",
        params: IdParams,
        body: Type.Object(
          { role: Type.Optional(RoleSchema), is_active: Type.Optional(Type.Boolean()) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: PublicUserSchema, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { role, is_active } = request.body;
      const actor = actorOf(request);
      const before = await ctx.users.findById(id);
      if (!before) throw notFound(`No user ${id}`);
      const self = principalOf(request).userId === id;
      const losesAdmin =
        before.role === 'admin' &&
        before.isActive &&
        ((role && role !== 'admin') || is_active === false);
      if (losesAdmin && (self || (await ctx.users.countAdmins()) <= 1)) {
        throw conflict(
          self
            ? 'Admins cannot demote or disable themselves'
            : 'The last active admin must stay admin',
        );
      }
      let user = before;
      if (role && role !== before.role) {
        user = (await ctx.users.setRole(id, role)) ?? user;
        await ctx.audit.record({
          action: 'user.role_changed',
          actor,
          targetType: 'user',
          targetId: id,
          details: { from: before.role, to: role },
        });
      }
      if (is_active !== undefined && is_active !== before.isActive) {
        user = (await ctx.users.setActive(id, is_active)) ?? user;
        await ctx.audit.record({
          action: is_active ? 'user.enabled' : 'user.disabled',
          actor,
          targetType: 'user',
          targetId: id,
        });
      }
      return toPublicUser(user);
    },
  );
};
