import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { badRequest } from '../../http/errors.ts';
import { errors, page, PageQuery, Timestamp } from '../../http/schemas.ts';
import { listAudit, toPublicAudit } from './queries.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) =>
  Type.Union([t, Type.Null()]);

const AuditEntrySchema = Type.Object({
  id: Type.Integer(),
  created_at: Timestamp,
  action: Type.String(),
  outcome: Type.Union([Type.Literal('success'), Type.Literal('failure')]),
  actor: Type.Object({
    user_id: Nullable(Type.String()),
    api_key_id: Nullable(Type.String()),
    name: Nullable(Type.String()),
    ip: Nullable(Type.String()),
  }),
  target: Nullable(Type.Object({ type: Nullable(Type.String()), id: Nullable(Type.String()) })),
  request_id: Nullable(Type.String()),
  details: Type.Record(Type.String(), Type.Unknown()),
});

const AuditQuery = Type.Object({
  actor: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 100,
      description: 'a user or API key id, or an actor name (username, cli, system)',
    }),
  ),
  action: Type.Optional(
    Type.String({
      pattern: '^[a-z_]+(\\.[a-z_]*)?$',
      maxLength: 64,
      description: 'an action (model.alias_moved), or a family ending in a dot (model.)',
    }),
  ),
  outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failure')])),
  target_type: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  target_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  from: Type.Optional(Timestamp),
  to: Type.Optional(Timestamp),
  ...PageQuery.properties,
});

export const auditRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  app.get(
    '',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['audit'],
        summary:
          'The audit log, newest first, filtered by actor, action, outcome, target and date (admin)',
        querystring: AuditQuery,
        response: { 200: page(AuditEntrySchema), ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const q = request.query;
      const from = q.from ? new Date(q.from) : undefined;
      const to = q.to ? new Date(q.to) : undefined;
      if (from && to && from > to)
        throw badRequest('from must not be after to', 'querystring.from');
      const { items, total } = await listAudit(
        ctx.db,
        {
          actor: q.actor,
          action: q.action,
          outcome: q.outcome,
          targetType: q.target_type,
          targetId: q.target_id,
          from,
          to,
        },
        { limit: q.limit, offset: q.offset },
      );
      return { items: items.map(toPublicAudit), total, limit: q.limit, offset: q.offset };
    },
  );
};
