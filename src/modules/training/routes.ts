import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../../context.ts';
import { badRequest } from '../../http/errors.ts';
import { principalOf } from '../../http/plugins/auth.ts';
import { errors } from '../../http/schemas.ts';
import { registryToHttp } from '../models/routes.ts';
import { DataSourceError, resolveSource } from './sources.ts';
import { EVALUATE_TASK, RETRAIN_TASK, TRAIN_TASK } from './tasks.ts';

const Accepted = Type.Object({
  task_id: Type.String({ format: 'uuid' }),
  type: Type.String(),
  state: Type.String(),
  status_url: Type.String(),
});
const NameParams = Type.Object({ name: Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' }) });
const Folder = (description: string) => Type.String({ minLength: 1, maxLength: 1000, description });

export const trainingRoutes: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (
  app,
  { ctx },
) => {
  const roots = ctx.config.trainingDataRoots;

  /** Checks a folder now, so a typo is a 400 here and not a failed task later. */
  async function checkFolder(value: string | undefined, field: string): Promise<void> {
    if (value === undefined) return;
    await resolveSource(value, roots).catch((err) => {
      if (err instanceof DataSourceError) throw badRequest(err.message, `body.${field}`);
      throw err;
    });
  }

  async function accept(
    request: Parameters<typeof principalOf>[0],
    type: string,
    payload: Record<string, unknown>,
  ) {
    const task = await ctx.tasks.create({
      type,
      payload: { ...payload, user_id: principalOf(request).userId },
      userId: principalOf(request).userId,
      // Training is long and deterministic: one retry covers a worker lost mid-run.
      attempts: 2,
    });
    return { task_id: task.id, type, state: task.state, status_url: `/api/v1/tasks/${task.id}` };
  }

  app.post(
    '/train',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['training'],
        summary: 'Train a model on image folders on the server and register it (a background task)',
        description: `Folders are relative to (or inside) the training data roots: ${roots.join(', ')}.`,
        body: Type.Object(
          {
            task: Type.Union([Type.Literal('species'), Type.Literal('health')]),
            data_dir: Folder('training images: <dir>/<class>/<image>'),
            val_dir: Type.Optional(
              Folder('validation images (default: a grouped 20 % of data_dir)'),
            ),
            name: Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' }),
            backbone: Type.Optional(Type.String({ maxLength: 40 })),
            taps: Type.Optional(
              Type.Array(Type.String({ maxLength: 40 }), { minItems: 1, maxItems: 10 }),
            ),
            seed: Type.Optional(Type.Integer({ minimum: 0 })),
            flip_tta: Type.Optional(Type.Boolean()),
            alias: Type.Optional(
              Type.Union([Type.Literal('champion'), Type.Literal('challenger')]),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 202: Accepted, ...errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      await checkFolder(request.body.data_dir, 'data_dir');
      await checkFolder(request.body.val_dir, 'val_dir');
      await ctx.registry.nextVersion(request.body.name).catch(registryToHttp);
      return reply.code(202).send(await accept(request, TRAIN_TASK, request.body));
    },
  );

  app.post(
    '/:name/retrain',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['training'],
        summary:
          'Retrain on the original data plus operator feedback, evaluate, register as challenger',
        params: NameParams,
        body: Type.Object(
          {
            base: Type.Optional(
              Type.String({
                maxLength: 20,
                description: 'version or alias to start from (default champion)',
              }),
            ),
            data_dir: Type.Optional(
              Folder('training data (default: what the base model recorded)'),
            ),
            val_dir: Type.Optional(
              Folder('validation data (default: what the base model recorded)'),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 202: Accepted, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await ctx.registry
        .resolve({ name: request.params.name, selector: request.body.base ?? 'champion' })
        .catch(registryToHttp);
      await checkFolder(request.body.data_dir, 'data_dir');
      await checkFolder(request.body.val_dir, 'val_dir');
      return reply
        .code(202)
        .send(await accept(request, RETRAIN_TASK, { name: request.params.name, ...request.body }));
    },
  );

  app.post(
    '/:name/evaluate',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['training'],
        summary: 'Evaluate a version on a labelled image folder (a background task)',
        params: NameParams,
        body: Type.Object(
          {
            version: Type.Optional(
              Type.String({ maxLength: 20, description: 'version or alias (default champion)' }),
            ),
            data_dir: Folder('labelled images: <dir>/<class>/<image>'),
            ood_dir: Type.Optional(Folder('images of none of the classes, for open-set figures')),
          },
          { additionalProperties: false },
        ),
        response: { 202: Accepted, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const ref = `${request.params.name}@${request.body.version ?? 'champion'}`;
      await ctx.registry.resolve(ref).catch(registryToHttp);
      await checkFolder(request.body.data_dir, 'data_dir');
      await checkFolder(request.body.ood_dir, 'ood_dir');
      return reply.code(202).send(
        await accept(request, EVALUATE_TASK, {
          model: ref,
          data_dir: request.body.data_dir,
          ood_dir: request.body.ood_dir,
        }),
      );
    },
  );
};
