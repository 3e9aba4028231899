import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';

const Nullable = (t: ReturnType<typeof Type.Number>) => Type.Union([t, Type.Null()]);

const PerformanceSchema = Type.Object({
  window_seconds: Type.Number({ description: 'AQUAML_PERFORMANCE_WINDOW_SECONDS' }),
  latency_mean_ms: Nullable(Type.Number()),
  latency_p50_ms: Nullable(Type.Number()),
  latency_p95_ms: Nullable(Type.Number()),
  latency_p99_ms: Nullable(Type.Number()),
  throughput_rps: Type.Number(),
  error_rate: Nullable(Type.Number({ description: 'share of 5xx answers in the window' })),
  total_requests: Type.Integer({ description: 'API requests since start or the last reset' }),
  uptime_seconds: Type.Number(),
  since: Type.String({ format: 'date-time', description: 'start of the figures' }),
});

/**
 * The API's recent latency, throughput and error rate in this process (exact percentiles over a
 * sliding window of /api and /v2 requests); fleet-wide figures come from Prometheus' histograms.
 */
export const performanceRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  app.get(
    '/performance',
    {
      schema: {
        tags: ['health'],
        summary: 'Latency percentiles, throughput and error rate of the recent API traffic',
        response: { 200: PerformanceSchema },
      },
    },
    async () => ctx.performance.summary(),
  );
  app.post(
    '/performance/reset',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['health'],
        summary: 'Forget the recent figures (after a deployment or a load test)',
        body: Type.Object({}, { additionalProperties: false, description: 'no fields' }),
        response: { 200: PerformanceSchema },
      },
    },
    async (request) => {
      ctx.performance.reset();
      request.log.info({ user_id: request.principal?.id }, 'performance figures reset');
      return ctx.performance.summary();
    },
  );
};
