import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { notFound } from '../../http/errors.ts';
import { errors, page, PageQuery, pageOf } from '../../http/schemas.ts';
import {
  AliasSchema,
  ModelNameParams,
  ModelVersionParams,
  ModelVersionDetailSchema,
  ModelVersionSchema,
  toAlias,
  toModelVersion,
} from './schema.ts';

/** The registry, read: models, versions and model cards. */
export const modelRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  const registry = ctx.registry;

  app.get(
    '/all',
    {
      schema: {
        tags: ['models'],
        summary: 'Every registered model version, with aliases',
        querystring: Type.Object({
          include_archived: Type.Boolean({ default: false }),
          ...PageQuery.properties,
        }),
        response: { 200: page(ModelVersionSchema), ...errors(400, 401) },
      },
    },
    async (request) => {
      const [rows, aliases] = await Promise.all([
        registry.list({ includeArchived: request.query.include_archived }),
        registry.aliases(),
      ]);
      return pageOf(
        rows.map((r) => toModelVersion(r, aliases)),
        request.query,
      );
    },
  );

  app.get(
    '/:name',
    {
      schema: {
        tags: ['models'],
        summary: "A model's versions and aliases",
        params: ModelNameParams,
        response: {
          200: Type.Object({
            name: Type.String(),
            versions: Type.Array(ModelVersionSchema),
            aliases: Type.Array(AliasSchema),
          }),
          ...errors(400, 401, 404),
        },
      },
    },
    async (request) => {
      const { name } = request.params;
      const [rows, aliases] = await Promise.all([
        registry.list({ name, includeArchived: true }),
        registry.aliases(name),
      ]);
      if (!rows.length) throw notFound(`No model ${name}`);
      return {
        name,
        versions: rows.map((r) => toModelVersion(r, aliases)),
        aliases: aliases.map(toAlias),
      };
    },
  );

  app.get(
    '/:name/versions/:version',
    {
      schema: {
        tags: ['models'],
        summary: 'One model version with its full manifest',
        params: ModelVersionParams,
        response: { 200: ModelVersionDetailSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { name, version } = request.params;
      const row = await registry.get(name, version);
      if (!row) throw notFound(`No model ${name}@${version}`);
      return { ...toModelVersion(row, await registry.aliases(name)), manifest: row.manifest };
    },
  );

  app.get(
    '/:name/versions/:version/card',
    {
      schema: {
        tags: ['models'],
        summary:
          'The model card (markdown): intended use, data, metrics, limitations, data licence',
        params: ModelVersionParams,
        produces: ['text/markdown'],
        response: { 200: Type.String(), ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const { name, version } = request.params;
      if (!(await registry.get(name, version))) throw notFound(`No model ${name}@${version}`);
      const dir = await ctx.store.localDir(name, version);
      const card = await readFile(join(dir, 'MODEL_CARD.md'), 'utf8').catch(() => {
        throw notFound(`${name}@${version} has no model card`);
      });
      return reply.type('text/markdown; charset=utf-8').send(card);
    },
  );
};
