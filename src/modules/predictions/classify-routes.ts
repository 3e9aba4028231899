import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors, PageQuery, pageOf } from '../../http/schemas.ts';
import type { AppServices } from '../app-services.ts';
import { ClassifyQuery, classifyUpload } from './classify-request.ts';
import { inferenceToHttp } from './errors.ts';
import { ClassifyMultipartDoc, ClassifyResultSchema } from './schema.ts';

/** Classify an image, and the species the serving classifier can answer with. */
export const classifyRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  app.post(
    '/classify',
    {
      config: { multipart: ClassifyMultipartDoc },
      schema: {
        tags: ['predictions'],
        summary:
          'Classify a fish image: species, health (when a health model is registered), top-k',
        description:
          'multipart/form-data with the image in "file". Unknown fish or non-fish images come back with status "unknown" and the candidates listed. The prediction is stored.',
        querystring: ClassifyQuery,
        response: { 200: ClassifyResultSchema, ...errors(400, 401, 403, 404, 413, 415, 429, 503) },
      },
    },
    async (request) => classifyUpload(ctx, request, request.query, 'api'),
  );

  app.get(
    '/species',
    {
      schema: {
        tags: ['predictions'],
        summary:
          'The species the serving classifier recognises, with names and water-quality ranges',
        querystring: Type.Object({
          model: Type.Optional(Type.String({ maxLength: 64 })),
          ...PageQuery.properties,
        }),
        response: {
          200: Type.Object({
            model: Type.Object({ name: Type.String(), version: Type.Integer() }),
            total: Type.Integer(),
            limit: Type.Integer(),
            offset: Type.Integer(),
            items: Type.Array(
              Type.Object({
                label: Type.String(),
                scientific_name: Type.Union([Type.String(), Type.Null()]),
                common_name: Type.Union([Type.String(), Type.Null()]),
                known_to_database: Type.Boolean(),
              }),
            ),
          }),
          ...errors(400, 401, 404, 503),
        },
      },
    },
    async (request) => {
      const name = request.query.model ?? ctx.config.serving.defaultModel;
      const row = await ctx.registry.resolve({ name, selector: 'champion' }).catch(inferenceToHttp);
      const labels = (row.manifest.labels as string[]) ?? [];
      const info = (row.manifest.label_info ?? {}) as Record<
        string,
        { scientific_name?: string; display_name?: string }
      >;
      const known = new Map((await ctx.species.list()).map((s) => [s.code, s]));
      const items = labels.map((label) => {
        const s = known.get(label);
        return {
          label,
          scientific_name: s?.scientificName ?? info[label]?.scientific_name ?? null,
          common_name: s?.commonName ?? info[label]?.display_name ?? null,
          known_to_database: Boolean(s),
        };
      });
      return { model: { name: row.name, version: row.version }, ...pageOf(items, request.query) };
    },
  );
};
