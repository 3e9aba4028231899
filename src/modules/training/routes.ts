import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MODEL_NAME_PATTERN } from '../../ml/artifact/model-name.ts';
import type { AppServices } from '../app-services.ts';
import { errors } from '../../http/schemas.ts';
import { registryToHttp } from '../models/errors.ts';
import { ModelNameParams } from '../models/schema.ts';
import { feedbackForRetraining } from './feedback.ts';
import { acceptTask, checkFolder } from './requests.ts';
import { Accepted, FeedbackSummarySchema } from './schema.ts';
import { EVALUATE_TASK, RETRAIN_TASK, TRAIN_TASK } from './tasks.ts';

const Folder = (description: string) => Type.String({ minLength: 1, maxLength: 1000, description });

export const trainingRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  const roots = ctx.config.trainingDataRoots;

  app.post(
    '/train',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['training'],
        summary: 'Train a model on image folders on the server and register it (a background task)',
        description:
          'Folders are named relative to the training data roots (AQUAML_TRAINING_DATA_ROOTS), e.g. fish-species/train; each holds one folder per class with its images.',
        body: Type.Object(
          {
            task: Type.Union([Type.Literal('species'), Type.Literal('health')]),
            data_dir: Folder('training images: <dir>/<class>/<image>'),
            val_dir: Type.Optional(
              Folder('validation images (default: a grouped 20 % of data_dir)'),
            ),
            name: Type.String({ pattern: MODEL_NAME_PATTERN }),
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
      await checkFolder(roots, request.body.data_dir, 'data_dir', 2);
      await checkFolder(roots, request.body.val_dir, 'val_dir', 1);
      await ctx.registry.nextVersion(request.body.name).catch(registryToHttp);
      return acceptTask(ctx, request, reply, TRAIN_TASK, request.body);
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
        params: ModelNameParams,
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
            include_viewer_feedback: Type.Optional(
              Type.Boolean({
                description:
                  "Also learn from viewers' labels (default false: operators' and admins' only)",
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Intersect([Accepted, Type.Object({ feedback: FeedbackSummarySchema })]),
          ...errors(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const base = await ctx.registry
        .resolve({ name: request.params.name, selector: request.body.base ?? 'champion' })
        .catch(registryToHttp);
      await checkFolder(roots, request.body.data_dir, 'data_dir', 2);
      await checkFolder(roots, request.body.val_dir, 'val_dir', 1);
      // What the task will learn from, as of now: the task's result repeats it when it runs.
      const { summary } = await feedbackForRetraining(
        ctx.db,
        base.name,
        (base.manifest.labels as string[] | undefined) ?? [],
        request.body.include_viewer_feedback === true,
      );
      return acceptTask(
        ctx,
        request,
        reply,
        RETRAIN_TASK,
        { name: request.params.name, ...request.body },
        { feedback: summary },
      );
    },
  );

  app.post(
    '/:name/evaluate',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['training'],
        summary: 'Evaluate a version on a labelled image folder (a background task)',
        params: ModelNameParams,
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
      await checkFolder(roots, request.body.data_dir, 'data_dir', 1);
      await checkFolder(roots, request.body.ood_dir, 'ood_dir', 0);
      return acceptTask(ctx, request, reply, EVALUATE_TASK, {
        model: ref,
        data_dir: request.body.data_dir,
        ood_dir: request.body.ood_dir,
      });
    },
  );
};
