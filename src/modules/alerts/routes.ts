import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TSchema, Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { principalOf } from '../auth/plugin.ts';
import { errors, IdParams, page, PageQuery } from '../../http/schemas.ts';
import { openSse } from '../../http/sse.ts';
import { ALERTS_TOPIC } from '../../serving/drift-monitor.ts';
import { useFarmErrors } from '../farms/errors.ts';
import { alertsToHttp } from './errors.ts';
import { AlertSchema, EventSchema, Severity, State } from './schema.ts';
import { toAlertChange, toAlertItem } from './service.ts';

const tags = ['alerts'];
// Typed loosely: the stream is written to the raw response, not serialised.
const EventStream: TSchema = Type.String({ description: 'text/event-stream' });

/** Alerts of every kind you may see: the list, a live stream, one alert and its timeline. */
export const alertRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  useFarmErrors(app);
  const alerts = ctx.telemetry.alerts;

  app.get(
    '/',
    {
      schema: {
        tags,
        summary: 'Alerts of every kind you may see, newest first',
        description:
          'Water-quality and device alerts of your farms; model alerts (drift, feedback accuracy) for operators and admins. States: open -> acknowledged -> resolved.',
        querystring: Type.Intersect([
          Type.Object({
            state: Type.Optional(State),
            farm: Type.Optional(Type.String({ format: 'uuid' })),
            unit: Type.Optional(Type.String({ format: 'uuid' })),
            kind: Type.Optional(Type.String({ maxLength: 64 })),
            severity: Type.Optional(Severity),
          }),
          PageQuery,
        ]),
        response: { 200: page(AlertSchema), ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const p = principalOf(request);
      const q = request.query;
      // Naming a farm you are not a member of answers as if it did not exist.
      if (q.farm) await ctx.farms.access.farm(p, q.farm);
      const { items, total } = await alerts.list(
        p,
        { state: q.state, farmId: q.farm, unitId: q.unit, kind: q.kind, severity: q.severity },
        { limit: q.limit, offset: q.offset },
      );
      return { items, total, limit: q.limit, offset: q.offset };
    },
  );

  app.get(
    '/stream',
    {
      schema: {
        tags,
        summary: 'Live alert changes (Server-Sent Events: opened, acknowledged, resolved)',
        description: 'Each event carries the alert as the list shows it. Only alerts you may see.',
        produces: ['text/event-stream'],
        response: { 200: EventStream, ...errors(401) },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const channel = openSse(request, reply);
      const unsubscribe = await ctx.bus.subscribe(ALERTS_TOPIC, async (message) => {
        const change = toAlertChange(message);
        if (change && (await alerts.canSee(p, change.alert.farm_id))) {
          channel.send(change.event, change.alert);
        }
      });
      await channel.closed;
      unsubscribe();
    },
  );

  app.get(
    '/:id',
    {
      schema: {
        tags,
        summary: 'One alert',
        params: IdParams,
        response: { 200: AlertSchema, ...errors(401, 404) },
      },
    },
    async (request) => {
      try {
        return toAlertItem(await alerts.get(principalOf(request), request.params.id));
      } catch (err) {
        alertsToHttp(err);
      }
    },
  );

  app.get(
    '/:id/timeline',
    {
      schema: {
        tags,
        summary: "An alert's events in time order: opened, acknowledged, notified, resolved",
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(EventSchema) }), ...errors(401, 404) },
      },
    },
    async (request) => {
      try {
        return { items: await alerts.timeline(principalOf(request), request.params.id) };
      } catch (err) {
        alertsToHttp(err);
      }
    },
  );
};
