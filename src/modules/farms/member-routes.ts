import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { principalOf } from '../auth/plugin.ts';
import { errors, IdParams } from '../../http/schemas.ts';
import { actorOf } from '../auth/actor.ts';
import { useFarmErrors } from './errors.ts';
import { FarmRoleSchema, MemberParams, MemberSchema } from './schema.ts';

const tags = ['farms'];

/** A farm's members and their roles (managers). */
export const farmMemberRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  useFarmErrors(app);
  const { access, farms } = ctx.farms;

  app.get(
    '/:id/members',
    {
      schema: {
        tags,
        summary: 'Members of a farm and their roles',
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(MemberSchema) }), ...errors(401, 404) },
      },
    },
    async (request) => {
      await access.farm(principalOf(request), request.params.id);
      const rows = await farms.members(request.params.id);
      return {
        items: rows.map((m) => ({
          user_id: m.userId,
          username: m.username,
          email: m.email,
          role: m.role,
          created_at: m.createdAt.toISOString(),
        })),
      };
    },
  );

  app.put(
    '/:id/members/:userId',
    {
      schema: {
        tags,
        summary: 'Add a member to a farm or change their role (farm managers)',
        description: 'A farm keeps at least one manager: demoting the last one is a 409.',
        params: MemberParams,
        body: Type.Object({ role: FarmRoleSchema }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { id, userId } = request.params;
      await access.farm(principalOf(request), id, 'manager');
      await farms.setMember(id, userId, request.body.role);
      await ctx.audit.record({
        action: 'farm.member_set',
        actor: actorOf(request),
        targetType: 'farm',
        targetId: id,
        details: { user_id: userId, role: request.body.role },
      });
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/:id/members/:userId',
    {
      schema: {
        tags,
        summary: 'Remove a member from a farm (farm managers); the last manager stays (409)',
        params: MemberParams,
        response: { 204: Type.Null(), ...errors(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { id, userId } = request.params;
      await access.farm(principalOf(request), id, 'manager');
      await farms.removeMember(id, userId);
      await ctx.audit.record({
        action: 'farm.member_removed',
        actor: actorOf(request),
        targetType: 'farm',
        targetId: id,
        details: { user_id: userId },
      });
      return reply.code(204).send(null);
    },
  );
};
