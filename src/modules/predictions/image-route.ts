import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import sharp from 'sharp';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { notFound } from '../../http/errors.ts';
import { principalOf } from '../auth/plugin.ts';
import { errors } from '../../http/schemas.ts';

const THUMB_PX = 160;

/** Thumbnails of kept images, for the dashboard's history (served as WebP, small and cacheable). */
export const predictionImageRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  app.get(
    '/:id/thumbnail',
    {
      // A history page shows a thumbnail per row: one page must not spend a user's request budget.
      config: { rateLimit: { max: 1_000, timeWindow: ctx.config.rateLimit.windowMs } },
      schema: {
        tags: ['predictions'],
        summary: 'A small WebP thumbnail of the classified image, when images are kept',
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        produces: ['image/webp'],
        response: {
          200: Type.Unsafe<Buffer>({
            type: 'string',
            format: 'binary',
            description: 'WebP image, 160x160',
          }),
          ...errors(400, 401, 404),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const row = await ctx.predictions.queries.get(id);
      if (!row) throw notFound(`No prediction ${id}`);
      // Like history: another farm's prediction is as absent as a missing one.
      if (row.farmId && !(await ctx.farms.access.roleOn(principalOf(request), row.farmId))) {
        throw notFound(`No prediction ${id}`);
      }
      const image = await ctx.serving.images?.read(row.imageSha256);
      if (!image) throw notFound(`The image of prediction ${id} was not kept`);
      const thumb = await sharp(image, { limitInputPixels: ctx.config.uploads.maxPixels })
        .rotate()
        .resize(THUMB_PX, THUMB_PX, { fit: 'cover' })
        .webp({ quality: 70 })
        .toBuffer()
        .catch(() => undefined);
      if (!thumb) throw notFound(`The image of prediction ${id} cannot be read`);
      return reply
        .header('cache-control', 'private, max-age=86400, immutable')
        .type('image/webp')
        .send(thumb);
    },
  );
};
