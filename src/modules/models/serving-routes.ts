import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../../context.ts';
import { badRequest } from '../../http/errors.ts';
import { errors } from '../../http/schemas.ts';
import { actorOf } from '../auth/actor.ts';
import { registryToHttp } from './routes.ts';

const NameParams = Type.Object({ name: Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' }) });
const Nullable = (t: ReturnType<typeof Type.Number>) => Type.Union([t, Type.Null()]);

const TrafficSchema = Type.Object({
  model: Type.String(),
  split: Type.Array(Type.Object({ target: Type.String(), weight: Type.Number() })),
  shadow: Type.Union([Type.String(), Type.Null()]),
  sticky: Type.Boolean(),
});

const VersionStatsSchema = Type.Object({
  name: Type.String(),
  version: Type.Integer(),
  since: Type.String(),
  requests: Type.Integer(),
  errors: Type.Integer(),
  unknown_rate: Nullable(Type.Number()),
  cache_hit_ratio: Nullable(Type.Number()),
  latency_ms: Type.Object({
    p50: Nullable(Type.Number()),
    p95: Nullable(Type.Number()),
    p99: Nullable(Type.Number()),
  }),
  queue_ms: Type.Object({ p50: Nullable(Type.Number()), p95: Nullable(Type.Number()) }),
  mean_batch_size: Nullable(Type.Number()),
  confidence: Type.Object({ mean: Nullable(Type.Number()), histogram: Type.Array(Type.Integer()) }),
  shadow: Type.Object({ compared: Type.Integer(), agreement: Nullable(Type.Number()) }),
  feedback: Type.Object({ count: Type.Integer(), accuracy: Nullable(Type.Number()) }),
  drift: Type.Union([
    Type.Object({
      samples: Type.Integer(),
      psi: Type.Record(Type.String(), Nullable(Type.Number())),
      drifted: Type.Boolean(),
    }),
    Type.Null(),
  ]),
});

/** Traffic weights: `{champion: 90, challenger: 10}`, plus optional shadow and sticky. */
function parseTraffic(body: Record<string, unknown>) {
  const split: { target: string; weight: number }[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (key === 'shadow' || key === 'sticky') continue;
    if (!/^(champion|challenger|\d+)$/.test(key)) {
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
  if (shadow !== null && !/^(champion|challenger|\d+)$/.test(shadow)) {
    throw badRequest('shadow must be champion, challenger or a version number', 'body.shadow');
  }
  return { split, shadow, sticky: body.sticky === undefined ? true : body.sticky === true };
}

export const modelServingRoutes: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (
  app,
  { ctx },
) => {
  const { serving, registry } = ctx;

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
          traffic: { model, ...(await serving.traffic.get(model)) },
        });
      }
      return { items };
    },
  );

  app.get(
    '/stats',
    {
      schema: {
        tags: ['models'],
        summary:
          'Live figures per served version: requests, latency p50/p95/p99, confidence, unknown rate, shadow agreement, feedback accuracy, drift',
        response: {
          200: Type.Object({ process: Type.String(), items: Type.Array(VersionStatsSchema) }),
          ...errors(401),
        },
      },
    },
    async () => {
      await serving.writer.flush();
      const [feedback, drift] = await Promise.all([
        serving.drift.rollingAccuracy(),
        serving.drift.reports(),
      ]);
      const versions = new Map(
        serving.stats.all().map((s) => [`${s.name}@${s.version}`, s.summary()]),
      );
      // Versions with feedback but no traffic in this process still report their accuracy.
      for (const f of feedback) {
        const key = `${f.model}@${f.version}`;
        if (!versions.has(key)) versions.set(key, serving.stats.of(f.model, f.version).summary());
      }
      const items = [...versions.entries()].map(([key, s]) => {
        const fb = feedback.find((f) => `${f.model}@${f.version}` === key);
        const d = drift.find((r) => `${r.model}@${r.version}` === key);
        return {
          ...s,
          feedback: { count: fb?.feedback ?? 0, accuracy: fb?.accuracy ?? null },
          drift: d ? { samples: d.samples, psi: d.psi, drifted: d.drifted } : null,
        };
      });
      return { process: `${ctx.role}:${process.pid}`, items };
    },
  );

  app.get(
    '/health',
    {
      schema: {
        tags: ['models'],
        summary: 'Loaded model versions in this process, with their batch queues',
        response: {
          200: Type.Object({
            status: Type.String(),
            waiting_for: Type.Array(Type.String()),
            loaded: Type.Array(
              Type.Object({
                model: Type.String(),
                version: Type.Integer(),
                backbone: Type.String(),
                queue_depth: Type.Integer(),
                in_flight: Type.Integer(),
                max_batch_size: Type.Integer(),
                max_queue_delay_ms: Type.Number(),
              }),
            ),
          }),
          ...errors(401),
        },
      },
    },
    async () => {
      const loaded = await serving.runtime.loadedModels();
      const waiting = ctx.health.notReadyBecause();
      return {
        status: waiting.length ? 'loading' : 'ok',
        waiting_for: waiting,
        loaded: loaded.map((m) => {
          const policy = serving.runtime.policyFor(m.manifest);
          return {
            model: m.name,
            version: m.version,
            backbone: m.manifest.backbone.id,
            queue_depth: m.batcher.depth,
            in_flight: m.batcher.inFlight,
            max_batch_size: policy.maxBatchSize,
            max_queue_delay_ms: policy.maxQueueDelayMs,
          };
        }),
      };
    },
  );

  app.get(
    '/:name/traffic',
    {
      schema: {
        tags: ['models'],
        summary: "A model's traffic split and shadow target",
        params: NameParams,
        response: { 200: TrafficSchema, ...errors(400, 401) },
      },
    },
    async (request) => ({
      model: request.params.name,
      ...(await serving.traffic.get(request.params.name)),
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
        params: NameParams,
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
      const saved = await serving.traffic
        .set(request.params.name, parsed, actorOf(request))
        .catch(registryToHttp);
      return { model: request.params.name, ...saved };
    },
  );
};
