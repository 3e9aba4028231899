import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { badRequest, notFound } from '../../http/errors.ts';
import { errors, page, PageQuery, pageOf } from '../../http/schemas.ts';
import { toPublicSpecies, WATER_QUALITY_KEYS } from './service.ts';

const RangeSchema = Type.Object({
  min: Type.Union([Type.Number(), Type.Null()]),
  max: Type.Union([Type.Number(), Type.Null()]),
  source: Type.String({ minLength: 3, maxLength: 1000 }),
});

const WaterQualitySchema = Type.Object(
  Object.fromEntries(WATER_QUALITY_KEYS.map((k) => [k, RangeSchema])) as Record<
    (typeof WATER_QUALITY_KEYS)[number],
    typeof RangeSchema
  >,
);

const SpeciesSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  code: Type.String(),
  common_name: Type.String(),
  scientific_name: Type.String(),
  category: Type.Union([Type.Literal('reef'), Type.Literal('farmed')]),
  environment: Type.Union([
    Type.Literal('freshwater'),
    Type.Literal('brackish'),
    Type.Literal('marine'),
  ]),
  description: Type.String(),
  water_quality: WaterQualitySchema,
});

const CodeParams = Type.Object({ code: Type.String({ pattern: '^[a-z0-9-]{2,80}$' }) });

export const speciesRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  app.get(
    '',
    {
      schema: {
        tags: ['species'],
        summary: 'Fish species with their water-quality ranges and sources',
        querystring: PageQuery,
        response: { 200: page(SpeciesSchema), ...errors(400, 401) },
      },
    },
    async (request) => pageOf((await ctx.species.list()).map(toPublicSpecies), request.query),
  );

  app.get(
    '/:code',
    {
      schema: {
        tags: ['species'],
        summary: 'One species',
        params: CodeParams,
        response: { 200: SpeciesSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const row = await ctx.species.byCode(request.params.code);
      if (!row) throw notFound(`No species ${request.params.code}`);
      return toPublicSpecies(row);
    },
  );

  app.patch(
    '/:code',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['species'],
        summary: "Adjust a species' water-quality ranges for this farm (operator)",
        params: CodeParams,
        body: Type.Object(
          {
            // Only the known keys: an unknown one reached the update as a column that does not
            // exist (a 500).
            water_quality: Type.Partial(WaterQualitySchema, {
              minProperties: 1,
              additionalProperties: false,
            }),
          },
          { additionalProperties: false },
        ),
        response: { 200: SpeciesSchema, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const ranges = request.body.water_quality;
      for (const [key, r] of Object.entries(ranges)) {
        if (r && r.min !== null && r.max !== null && r.min > r.max) {
          throw badRequest(`min must not exceed max`, `body.water_quality.${key}`);
        }
      }
      const row = await ctx.species.updateRanges(request.params.code, ranges);
      if (!row) throw notFound(`No species ${request.params.code}`);
      return toPublicSpecies(row);
    },
  );
};
