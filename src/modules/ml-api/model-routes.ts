import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { notFound } from '../../http/errors.ts';
import { errors, PageQuery, pageOf } from '../../http/schemas.ts';
import type { AppServices } from '../app-services.ts';

/** /ml/models: the models that can serve, and one version of the default model with live figures. */
export const mlModelRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  const limits = ctx.config.serving;

  app.get(
    '/models',
    {
      schema: {
        tags: ['inference'],
        summary:
          'Models that can serve predictions, with versions, aliases and what is loaded here',
        querystring: PageQuery,
        response: {
          200: Type.Object({
            default_model: Type.String(),
            total: Type.Integer(),
            limit: Type.Integer(),
            offset: Type.Integer(),
            items: Type.Array(
              Type.Object({
                name: Type.String(),
                task: Type.String(),
                versions: Type.Array(
                  Type.Object({
                    version: Type.Integer(),
                    aliases: Type.Array(Type.String()),
                    loaded: Type.Boolean(),
                    backbone: Type.Union([Type.String(), Type.Null()]),
                    metrics: Type.Record(Type.String(), Type.Unknown()),
                  }),
                ),
              }),
            ),
          }),
          ...errors(400, 401),
        },
      },
    },
    async (request) => {
      const [rows, aliases] = await Promise.all([ctx.registry.list(), ctx.registry.aliases()]);
      const loaded = new Set(ctx.serving.runtime.loaded());
      const names = [...new Set(rows.map((r) => r.name))];
      return {
        default_model: limits.defaultModel,
        ...pageOf(names, request.query),
        items: names
          .slice(request.query.offset, request.query.offset + request.query.limit)
          .map((name) => {
            const versions = rows.filter((r) => r.name === name);
            return {
              name,
              task: versions[0]!.task,
              versions: versions.map((r) => ({
                version: r.version,
                aliases: aliases
                  .filter((a) => a.modelName === name && a.version === r.version)
                  .map((a) => a.alias),
                loaded: loaded.has(`${name}@${r.version}`),
                backbone: ((r.manifest.backbone as { id?: string } | undefined)?.id ?? null) as
                  string | null,
                metrics: r.metrics,
              })),
            };
          }),
      };
    },
  );

  app.get(
    '/models/:version',
    {
      schema: {
        tags: ['inference'],
        summary: 'One version of the default model, with its live serving figures',
        params: Type.Object({ version: Type.Integer({ minimum: 1 }) }),
        response: {
          200: Type.Object({
            name: Type.String(),
            version: Type.Integer(),
            task: Type.String(),
            labels: Type.Array(Type.String()),
            metrics: Type.Record(Type.String(), Type.Unknown()),
            loaded: Type.Boolean(),
            live: Type.Record(Type.String(), Type.Unknown()),
          }),
          ...errors(400, 401, 404),
        },
      },
    },
    async (request) => {
      const name = limits.defaultModel;
      const row = await ctx.registry.get(name, request.params.version);
      if (!row) throw notFound(`No model ${name}@${request.params.version}`);
      return {
        name,
        version: row.version,
        task: row.task,
        labels: (row.manifest.labels as string[]) ?? [],
        metrics: row.metrics,
        loaded: ctx.serving.runtime.loaded().includes(`${name}@${row.version}`),
        live: ctx.serving.stats.of(name, row.version).summary(),
      };
    },
  );
};
