import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';

const StatusSchema = Type.Object({ status: Type.String() });

const ComponentSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')]),
  latency_ms: Type.Number(),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  error: Type.Optional(Type.String()),
});

const DetailedSchema = Type.Object({
  status: Type.String(),
  role: Type.String(),
  version: Type.String(),
  uptime_s: Type.Number(),
  components: Type.Record(Type.String(), ComponentSchema),
});

export const probeRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  const started = Date.now();
  const publicRoute = { auth: 'public' as const };

  app.get(
    '/health',
    {
      config: publicRoute,
      schema: {
        tags: ['health'],
        summary: 'Liveness of the HTTP server; touches no dependency',
        response: {
          200: Type.Object({
            status: Type.Literal('ok'),
            uptime_s: Type.Number(),
            version: Type.String(),
          }),
        },
      },
    },
    async () => ({
      status: 'ok' as const,
      uptime_s: (Date.now() - started) / 1000,
      version: ctx.version,
    }),
  );

  app.get(
    '/live',
    {
      config: publicRoute,
      schema: {
        tags: ['health'],
        summary: 'Kubernetes liveness probe',
        response: { 200: StatusSchema },
      },
    },
    async () => ({ status: 'alive' }),
  );

  app.get(
    '/ready',
    {
      config: publicRoute,
      schema: {
        tags: ['health'],
        summary: 'Readiness: migrations applied and models loaded',
        response: {
          200: StatusSchema,
          503: Type.Object({ status: Type.String(), waiting_for: Type.Array(Type.String()) }),
        },
      },
    },
    async (_request, reply) => {
      const waiting = ctx.probes.notReadyBecause();
      if (waiting.length)
        return reply.code(503).send({ status: 'not_ready', waiting_for: waiting });
      return { status: 'ready' };
    },
  );

  app.get(
    '/health/detailed',
    {
      // It names the dependencies and their kinds: for operators, not for the internet.
      config: { auth: 'monitoring' },
      schema: {
        tags: ['health'],
        summary:
          'Each dependency with its status and latency (an admin, or Authorization: Bearer <AQUAML_METRICS_TOKEN>)',
        response: { 200: DetailedSchema, 503: DetailedSchema },
      },
    },
    async (_request, reply) => {
      const components = await ctx.probes.runAll();
      const statuses = Object.values(components).map((c) => c.status);
      const status = statuses.includes('down')
        ? 'down'
        : statuses.includes('degraded')
          ? 'degraded'
          : 'ok';
      return reply.code(status === 'down' ? 503 : 200).send({
        status,
        role: ctx.role,
        version: ctx.version,
        uptime_s: (Date.now() - started) / 1000,
        components,
      });
    },
  );
};
