import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { type TSchema, Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { principalOf } from '../auth/plugin.ts';
import { errors, IdParams, Timestamp } from '../../http/schemas.ts';
import { toCsv } from './csv.ts';
import { KPI_COLUMNS, LOG_COLUMNS } from './csv-columns.ts';
import { useFarmErrors } from './errors.ts';
import { rangeOf } from './range.ts';
import { KPI_FORMULAS, Period } from './kpi-schema.ts';
import { UnitIdParams } from './schema.ts';

const OptionalPeriod = Type.Object({
  from: Type.Optional(Timestamp),
  to: Type.Optional(Timestamp),
});

const Csv: TSchema = Type.String({ description: 'text/csv' });

function sendCsv(reply: FastifyReply, name: string, body: string) {
  return reply
    .header('content-type', 'text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${name}.csv"`)
    .send(body);
}

const day = (d: Date | undefined) => (d ? d.toISOString().slice(0, 10) : 'all');

/** CSV exports of KPIs and logs, per unit and per farm. */
export const kpiExportRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  useFarmErrors(app);
  const { access, kpis, logs } = ctx.farms;
  const tags = ['kpis'];

  app.get(
    '/units/:id/kpis.csv',
    {
      schema: {
        tags,
        summary: 'A unit’s KPIs over a period as CSV (one row)',
        description: KPI_FORMULAS,
        params: UnitIdParams,
        querystring: Period,
        produces: ['text/csv'],
        response: { 200: Csv, ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const { unit } = await access.unit(principalOf(request), request.params.id);
      const { from, to } = rangeOf(request.query);
      const k = await kpis.unit(unit, from, to);
      return sendCsv(
        reply,
        `kpis-${unit.id}-${day(from)}-${day(to)}`,
        toCsv(KPI_COLUMNS, [{ ...k, scope: 'unit' }]),
      );
    },
  );

  app.get(
    '/farms/:id/kpis.csv',
    {
      schema: {
        tags,
        summary: 'A farm’s KPIs over a period as CSV: one row per unit, then the farm',
        description: KPI_FORMULAS,
        params: IdParams,
        querystring: Period,
        produces: ['text/csv'],
        response: { 200: Csv, ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const { farm } = await access.farm(principalOf(request), request.params.id);
      const { from, to } = rangeOf(request.query);
      const k = await kpis.farm(farm.id, from, to);
      const rows = [
        ...k.units.map((u) => ({ ...u, scope: 'unit' })),
        { ...k, unit_id: '', unit_name: farm.name, scope: 'farm' },
      ];
      return sendCsv(reply, `kpis-${farm.id}-${day(from)}-${day(to)}`, toCsv(KPI_COLUMNS, rows));
    },
  );

  app.get(
    '/units/:id/logs.csv',
    {
      schema: {
        tags: ['logs'],
        summary: 'A unit’s log entries in a period as CSV, oldest first',
        params: UnitIdParams,
        querystring: OptionalPeriod,
        produces: ['text/csv'],
        response: { 200: Csv, ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const { unit } = await access.unit(principalOf(request), request.params.id);
      const range = rangeOf(request.query, { optional: true });
      const rows = await logs.all({ unitId: unit.id }, range);
      return sendCsv(
        reply,
        `logs-${unit.id}-${day(range.from)}-${day(range.to)}`,
        toCsv(LOG_COLUMNS, rows),
      );
    },
  );

  app.get(
    '/farms/:id/logs.csv',
    {
      schema: {
        tags: ['logs'],
        summary: 'Log entries of every unit of a farm in a period as CSV, oldest first',
        params: IdParams,
        querystring: OptionalPeriod,
        produces: ['text/csv'],
        response: { 200: Csv, ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const { farm } = await access.farm(principalOf(request), request.params.id);
      const range = rangeOf(request.query, { optional: true });
      const rows = await logs.all({ farmId: farm.id }, range);
      return sendCsv(
        reply,
        `logs-${farm.id}-${day(range.from)}-${day(range.to)}`,
        toCsv(LOG_COLUMNS, rows),
      );
    },
  );
};
