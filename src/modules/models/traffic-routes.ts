import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { badRequest } from '../../http/errors.ts';
import { INT32_MAX } from '../../http/input-limits.ts';
import { errors } from '../../http/schemas.ts';
import type { AppServices } from '../app-services.ts';
import { actorOf } from '../auth/actor.ts';
import { registryToHttp } from './errors.ts';
import { ModelNameParams } from './schema.ts';

const TrafficSchema = Type.Object({
  model: Type.String(),
  split: Type.Array(Type.Object({ target: Type.String(), weight: Type.Number() })),
  shadow: Type.Union([Type.String(), Type.Null()]),
  sticky: Type.Boolean(),
});

/** An alias or a version number that fits a PostgreSQL integer. */
function isTrafficTarget(key: string): boolean {
  if (key === 'champion' || key === 'challenger') return true;
  return /^[1-9]\d{0,9}$/.test(key) && Number(key) <= INT32_MAX;
}

/** Traffic weights: `{champion: 90, challenger: 10}`, plus optional shadow and sticky. */
function parseTraffic(body: Record<string, unknown>) {
  const split: { target: string; weight: number }[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (key === 'shadow' || key === 'sticky') continue;
    if (!isTrafficTarget(key)) {
      throw badRequest(
        `"${key}" is not a traffic target: use champion, challenger or a version number`,
        `body.${key}`,
      );
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) {
      throw badRequest(`the weight of ${key} must be a number from 0 to 100`, `body.${key}`);
    }
    split.push({ target: key, weight: value });
  }
  const total = split.reduce((s, e) => s + e.weight, 0);
  if (Math.abs(total - 100) > 1e-6)
    throw badRequest(`the weights must add up to 100 (they add up to ${total})`, 'body');
  const shadow = body.shadow === undefined || body.shadow === null ? null : String(body.shadow);
  if (shadow !== null && !isTrafficTarget(shadow)) {
    throw badRequest('shadow must be champion, challenger or a version number', 'body.shadow');
  }
  return { split, shadow, sticky: body.sticky === undefined ? true : body.sticky === true };
}

/** What each model serves (aliases, traffic split, shadow), and audited changes of its traffic. */
export const modelTrafficRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  const { registry } = ctx;

  app.get(
    '/active',
    {
      schema: {
        tags: ['models'],
        summary: 'What each model serves now: champion, challenger, traffic split, shadow',
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                model: Type.String(),
                champion: Type.Union([Type.Integer(), Type.Null()]),
                challenger: Type.Union([Type.Integer(), Type.Null()]),
                traffic: TrafficSchema,
              }),
            ),
          }),
          ...errors(401),
        },
      },
    },
    async () => {
      const aliases = await registry.aliases();
      const names = [...new Set(aliases.map((a) => a.modelName))];
      const items = [];
      for (const model of names) {
        const of = (alias: string) =>
          aliases.find((a) => a.modelName === model && a.alias === alias)?.version ?? null;
        items.push({
          model,
          champion: of('champion'),
          challenger: of('challenger'),
          traffic: { model, ...(await ctx.traffic.get(model)) },
        });
      }
      return { items };
    },
  );

  app.get(
    '/:name/traffic',
    {
      schema: {
        tags: ['models'],
        summary: "A model's traffic split and shadow target",
        params: ModelNameParams,
        response: { 200: TrafficSchema, ...errors(400, 401) },
      },
    },
    async (request) => ({
      model: request.params.name,
      ...(await ctx.traffic.get(request.params.name)),
    }),
  );

  app.put(
    '/:name/traffic',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['models'],
        summary: 'Split traffic across versions (A/B), optionally mirror it to a shadow; audited',
        description:
          'Body: weights by alias or version that add up to 100, e.g. {"champion": 90, "challenger": 10}; optional "shadow": "challenger" (runs on every request, its answer is recorded, never returned) and "sticky" (default true: the same user or device stays on one version).',
        params: ModelNameParams,
        body: Type.Record(
          Type.String(),
          Type.Union([Type.Number(), Type.String(), Type.Boolean(), Type.Null()]),
          {
            minProperties: 1,
          },
        ),
        response: { 200: TrafficSchema, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const parsed = parseTraffic(request.body);
      const saved = await ctx.traffic
        .set(request.params.name, parsed, actorOf(request))
        .catch(registryToHttp);
      return { model: request.params.name, ...saved };
    },
  );
};
