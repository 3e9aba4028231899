import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { conflict, forbidden, notFound } from '../../http/errors.ts';
import { principalOf } from '../auth/plugin.ts';
import { accepted } from '../../http/accepted.ts';
import { errors, IdParams, page, PageQuery } from '../../http/schemas.ts';
import { hasRole } from '../auth/authenticator.ts';
import { PURGE_TASK } from './purge.ts';
import { PublicTaskSchema, type TaskRow, TaskStateSchema, toPublicTask } from './schema.ts';

/**
 * SECURITY.md: every member of a farm sees its predictions and its tasks (one implicit farm until
 * farms exist); cancelling is for the task's creator, operators and admins.
 */
function canCancel(request: FastifyRequest, task: TaskRow): boolean {
  const principal = principalOf(request);
  if (hasRole(principal, 'operator')) return true;
  if (principal.userId !== null && task.userId === principal.userId) return true;
  return principal.apiKeyId !== null && task.apiKeyId === principal.apiKeyId;
}

export const taskRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (app, { ctx }) => {
  const visibleTask = async (id: string): Promise<TaskRow> => {
    const task = await ctx.tasks.get(id);
    if (!task) throw notFound(`No task ${id}`);
    return task;
  };

  app.get(
    '',
    {
      schema: {
        tags: ['tasks'],
        summary: "List the farm's tasks, newest first, by user, state and type",
        querystring: Type.Object({
          ...PageQuery.properties,
          state: Type.Optional(TaskStateSchema),
          type: Type.Optional(Type.String({ maxLength: 100 })),
          user_id: Type.Optional(Type.String({ format: 'uuid' })),
        }),
        response: { 200: page(PublicTaskSchema), ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const { limit, offset, state, type, user_id: userId } = request.query;
      const { items, total } = await ctx.tasks.list({ state, type, userId, limit, offset });
      const now = new Date();
      return { items: items.map((t) => toPublicTask(t, now)), total, limit, offset };
    },
  );

  app.get(
    '/:id',
    {
      schema: {
        tags: ['tasks'],
        summary: 'One task: state, progress, result or error, timings',
        params: IdParams,
        response: { 200: PublicTaskSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => toPublicTask(await visibleTask(request.params.id)),
  );

  app.delete(
    '/:id',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Cancel a queued or running task (owner, operator, admin)',
        description:
          'A queued task is cancelled at once; a running one is told to stop and ends `cancelled` ' +
          'shortly (`cancel_requested` is true meanwhile). A finished task is a 409.',
        params: IdParams,
        response: { 202: PublicTaskSchema, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const task = await visibleTask(id);
      if (!canCancel(request, task)) {
        throw forbidden("Only the task's creator, an operator or an admin may cancel it");
      }
      const principal = principalOf(request);
      const done = await ctx.tasks.cancel(id, { userId: principal.userId, name: principal.name });
      if (!done) throw notFound(`No task ${id}`);
      if (done.outcome === 'finished') {
        throw conflict(`Task ${id} has already finished (${done.task.state})`);
      }
      return accepted(reply, id).send(toPublicTask(done.task));
    },
  );

  app.post(
    '/purge',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['tasks'],
        summary: 'Start a purge of old predictions and finished tasks (admin)',
        body: Type.Object(
          {
            older_than_days: Type.Integer({ minimum: 1, maximum: 36_500, default: 90 }),
          },
          { additionalProperties: false },
        ),
        response: { 202: PublicTaskSchema, ...errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const task = await ctx.tasks.create({
        type: PURGE_TASK,
        payload: { older_than_days: request.body.older_than_days },
        userId: principalOf(request).userId,
        attempts: 1,
      });
      return accepted(reply, task.id).send(toPublicTask(task));
    },
  );
};
