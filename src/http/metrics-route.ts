import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../context.ts';

/** Prometheus exposition of this process (latency histograms give p50/p95/p99 per route and model). */
export const metricsRoutes: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (
  app,
  { ctx },
) => {
  app.get(
    '/metrics',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics',
        produces: ['text/plain'],
        response: { 200: Type.String() },
      },
    },
    async (_request, reply) => {
      const depth = await ctx.queue.depth().catch(() => undefined);
      if (depth)
        for (const [state, n] of Object.entries(depth))
          ctx.metrics.taskQueueDepth.set({ state }, n);
      return reply
        .type(ctx.metrics.registry.contentType)
        .send(await ctx.metrics.registry.metrics());
    },
  );
};
