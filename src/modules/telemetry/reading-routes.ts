import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TSchema, Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { badRequest } from '../../http/errors.ts';
import { principalOf } from '../auth/plugin.ts';
import { errors, Timestamp } from '../../http/schemas.ts';
import { openSse } from '../../http/sse.ts';
import { useFarmErrors } from '../farms/errors.ts';
import { UnitIdParams } from '../farms/schema.ts';
import { METRIC_NAMES } from './catalog.ts';
import { autoStep, parseStep, readingsCsv, readSeries, SeriesQueryError } from './queries.ts';

const tags = ['telemetry'];

// Typed loosely: these answers are streamed, not serialised from a returned object.
const Csv: TSchema = Type.String({ description: 'text/csv' });

const EventStream: TSchema = Type.String({ description: 'text/event-stream' });

const MetricEnum = Type.Union(METRIC_NAMES.map((m) => Type.Literal(m)));

const Window = Type.Object({
  from: Type.Optional(Timestamp),
  to: Type.Optional(Timestamp),
});

function windowOf(q: { from?: string; to?: string }, defaultSpanMs: number) {
  const to = q.to ? Date.parse(q.to) : Date.now();
  const from = q.from ? Date.parse(q.from) : to - defaultSpanMs;
  if (from >= to) throw badRequest('from must be before to', 'querystring.from');
  return { from, to };
}

const SeriesSchema = Type.Object({
  unit_id: Type.String(),
  metric: Type.String(),
  step_seconds: Type.Integer(),
  source: Type.String({ description: 'raw, minute or hour: the table the points come from' }),
  items: Type.Array(
    Type.Object({
      ts: Type.String({ description: 'Start of the step' }),
      min: Type.Number(),
      max: Type.Number(),
      mean: Type.Number(),
      count: Type.Integer(),
    }),
  ),
});

/** A unit's readings under /units: aggregated series, CSV export, live stream. */
export const unitReadingRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  units,
  { ctx },
) => {
  const { telemetry } = ctx;
  useFarmErrors(units);
  const access = ctx.farms.access;

  units.get(
    '/:id/readings',
    {
      schema: {
        tags,
        summary: 'A metric of a unit over a window, aggregated per step (min, max, mean, count)',
        description:
          'step: "auto" (default; about 720 points), or a duration such as 10s, 5m, 1h, 1d. Steps under a minute read the raw readings, whole minutes the per-minute rollups, whole hours the per-hour rollups. Answers hold at most 5000 points. Window default: the last 24 h.',
        params: UnitIdParams,
        querystring: Type.Intersect([
          Type.Object({
            metric: MetricEnum,
            step: Type.Optional(Type.String({ maxLength: 16, default: 'auto' })),
          }),
          Window,
        ]),
        response: { 200: SeriesSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      await access.unit(principalOf(request), request.params.id);
      const { from, to } = windowOf(request.query, 86_400_000);
      const stepText = request.query.step ?? 'auto';
      const step = stepText === 'auto' ? autoStep(from, to) : parseStep(stepText);
      if (step === undefined)
        throw badRequest(
          'step must be auto or a duration like 30s, 5m, 1h, at most 366d',
          'querystring.step',
        );
      try {
        const series = await readSeries(
          ctx.db,
          request.params.id,
          request.query.metric,
          from,
          to,
          step,
        );
        return {
          unit_id: request.params.id,
          metric: request.query.metric,
          step_seconds: series.step,
          source: series.source,
          items: series.items,
        };
      } catch (err) {
        if (err instanceof SeriesQueryError) throw badRequest(err.message, err.field);
        throw err;
      }
    },
  );

  units.get(
    '/:id/readings.csv',
    {
      schema: {
        tags,
        summary: 'Raw readings of a unit over a window as CSV (ts, metric, value, device_id)',
        description:
          'Window default: the last 24 h. Without metric: every metric, one after the other.',
        params: UnitIdParams,
        querystring: Type.Intersect([Type.Object({ metric: Type.Optional(MetricEnum) }), Window]),
        produces: ['text/csv'],
        response: { 200: Csv, ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      await access.unit(principalOf(request), request.params.id);
      const { from, to } = windowOf(request.query, 86_400_000);
      const metrics = request.query.metric ? [request.query.metric] : METRIC_NAMES;
      const name = `readings-${request.params.id}-${new Date(from).toISOString().slice(0, 10)}.csv`;
      reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}"`);
      return reply.send(Readable.from(readingsCsv(ctx.db, request.params.id, metrics, from, to)));
    },
  );

  units.get(
    '/:id/readings/stream',
    {
      schema: {
        tags,
        summary: 'Live readings of a unit (Server-Sent Events, event "readings")',
        description:
          'Each event carries the readings of the unit that arrived together: [{device_id, metric, ts, value}].',
        params: UnitIdParams,
        produces: ['text/event-stream'],
        response: { 200: EventStream, ...errors(401, 404) },
      },
    },
    async (request, reply) => {
      await access.unit(principalOf(request), request.params.id);
      const unitId = request.params.id;
      const channel = openSse(request, reply);
      const unsubscribe = telemetry.pipeline.onReadings((readings) => {
        const mine = readings.filter((r) => r.unitId === unitId);
        if (mine.length)
          channel.send(
            'readings',
            mine.map((r) => ({
              device_id: r.deviceId,
              metric: r.metric,
              ts: new Date(r.ts).toISOString(),
              value: r.value,
            })),
          );
      });
      await channel.closed;
      unsubscribe();
    },
  );
};
