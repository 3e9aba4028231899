import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { forbidden } from '../../http/errors.ts';
import { principalOf } from '../auth/plugin.ts';
import { errors, IdParams } from '../../http/schemas.ts';
import { hasRole, type Principal } from '../auth/authenticator.ts';
import { useFarmErrors } from '../farms/errors.ts';
import { alertsToHttp } from './errors.ts';
import { AlertSchema } from './schema.ts';
import { type AlertItem, toAlertItem } from './service.ts';

const tags = ['alerts'];
const NoteBody = Type.Object({ note: Type.Optional(Type.String({ maxLength: 2000 })) });

/** Acknowledge and resolve alerts (who may act depends on whose alert it is). */
export const alertActionRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  useFarmErrors(app);
  const alerts = ctx.telemetry.alerts;

  /** Acting on an alert: farm operators and managers for farm alerts, operators for model alerts. */
  async function mayAct(p: Principal, alert: AlertItem): Promise<void> {
    if (alert.farm_id) await ctx.farms.access.farm(p, alert.farm_id, 'operator');
    else if (!hasRole(p, 'operator')) throw forbidden('Model alerts are handled by operators');
  }

  app.post(
    '/:id/acknowledge',
    {
      schema: {
        tags,
        summary:
          'Acknowledge an open alert: someone is on it (farm operators; operators for model alerts)',
        params: IdParams,
        body: NoteBody,
        response: { 200: AlertSchema, ...errors(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const p = principalOf(request);
      try {
        await mayAct(p, toAlertItem(await alerts.get(p, request.params.id)));
        return await alerts.acknowledge(p, request.params.id, request.body.note);
      } catch (err) {
        alertsToHttp(err);
      }
    },
  );

  app.post(
    '/:id/resolve',
    {
      schema: {
        tags,
        summary: 'Resolve an alert by hand (rules resolve theirs when the value recovers)',
        params: IdParams,
        body: NoteBody,
        response: { 200: AlertSchema, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const p = principalOf(request);
      try {
        await mayAct(p, toAlertItem(await alerts.get(p, request.params.id)));
        return await alerts.resolveByHand(p, request.params.id, request.body.note);
      } catch (err) {
        alertsToHttp(err);
      }
    },
  );
};
