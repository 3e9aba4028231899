import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors } from '../../http/schemas.ts';
import type { AppServices } from '../app-services.ts';

const Nullable = (t: ReturnType<typeof Type.Number>) => Type.Union([t, Type.Null()]);

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

/** The served versions in this process: live figures per version, loaded models and their queues. */
export const modelServingRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  const { serving } = ctx;

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
      await ctx.predictions.writer.flush();
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
      const waiting = ctx.probes.notReadyBecause();
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
};
