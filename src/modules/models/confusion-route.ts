import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { notFound } from '../../http/errors.ts';
import { errors } from '../../http/schemas.ts';
import { ModelVersionParams } from './schema.ts';

/** The confusion matrix the model card links to, so the card can be read with its figure. */
export const modelConfusionRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  app.get(
    '/:name/versions/:version/confusion.svg',
    {
      schema: {
        tags: ['models'],
        summary: "A version's validation confusion matrix (SVG), as linked from its model card",
        params: ModelVersionParams,
        produces: ['image/svg+xml'],
        response: { 200: Type.String({ description: 'SVG document' }), ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const { name, version } = request.params;
      if (!(await ctx.registry.get(name, version))) throw notFound(`No model ${name}@${version}`);
      const dir = await ctx.store.localDir(name, version);
      const svg = await readFile(join(dir, 'confusion.svg'), 'utf8').catch(() => {
        throw notFound(`${name}@${version} has no confusion matrix`);
      });
      // The SVG is the trainer's own output; sandboxed anyway, as any served SVG should be.
      return reply
        .type('image/svg+xml')
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox")
        .send(svg);
    },
  );
};
