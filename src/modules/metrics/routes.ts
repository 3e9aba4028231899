import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { count, isNull } from 'drizzle-orm';
import { Type } from 'typebox';
import { ALERT_SEVERITIES, alerts } from '../../db/schema.ts';
import type { AppServices } from '../app-services.ts';

/** Gauges read at scrape time: the state of queues, batchers, served versions and alerts. */
async function refreshGauges(ctx: AppServices): Promise<void> {
  const m = ctx.metrics;
  const depth = await ctx.queue.depth().catch(() => undefined);
  if (depth) for (const [state, n] of Object.entries(depth)) m.taskQueueDepth.set({ state }, n);

  const loaded = await ctx.serving.runtime.loadedModels();
  const aliases = await ctx.registry.aliases().catch(() => []);
  m.batchQueueDepth.reset();
  m.batchInFlight.reset();
  m.batchQueueCapacity.reset();
  m.modelInfo.reset();
  m.validationAccuracy.reset();
  for (const model of loaded) {
    const labels = { model: model.name, version: String(model.version) };
    m.batchQueueDepth.set(labels, model.batcher.depth);
    m.batchInFlight.set(labels, model.batcher.inFlight);
    m.batchQueueCapacity.set(labels, model.batcher.capacity);
    const held = aliases
      .filter((a) => a.modelName === model.name && a.version === model.version)
      .map((a) => a.alias)
      .sort();
    m.modelInfo.set({ ...labels, aliases: held.join(',') }, 1);
    const accuracy = model.manifest.metrics?.val?.accuracy;
    if (accuracy !== undefined) m.validationAccuracy.set(labels, accuracy);
  }

  const open = await ctx.db
    .select({ severity: alerts.severity, n: count() })
    .from(alerts)
    .where(isNull(alerts.resolvedAt))
    .groupBy(alerts.severity)
    .catch(() => undefined);
  if (open) {
    // Every severity is exported, 0 included, so an alert rule sees "none open" as a value.
    for (const severity of ALERT_SEVERITIES) m.alertsOpen.set({ severity }, 0);
    for (const row of open) m.alertsOpen.set({ severity: row.severity }, row.n);
  }
}

/** Prometheus exposition of this process (latency histograms give p50/p95/p99 per route and model). */
export const metricsRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  app.get(
    '/metrics',
    {
      config: { auth: 'monitoring' },
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics (an admin, or Authorization: Bearer <AQUAML_METRICS_TOKEN>)',
        produces: ['text/plain'],
        response: { 200: Type.String() },
      },
    },
    async (_request, reply) => {
      await refreshGauges(ctx);
      return reply
        .type(ctx.metrics.registry.contentType)
        .send(await ctx.metrics.registry.metrics());
    },
  );
};
