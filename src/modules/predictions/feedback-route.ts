import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { badRequest, forbidden, notFound } from '../../http/errors.ts';
import { errors } from '../../http/schemas.ts';
import type { AppServices } from '../app-services.ts';
import { hasRole } from '../auth/authenticator.ts';
import { principalOf } from '../auth/plugin.ts';
import { NEW_CLASS_LABEL } from '../training/feedback.ts';
import { toStoredPrediction } from './queries.ts';
import { StoredPredictionSchema } from './schema.ts';

/** The true label of a prediction, for accuracy monitoring and retraining. */
export const predictionFeedbackRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  const { writer, queries } = ctx.predictions;

  app.post(
    '/:id/feedback',
    {
      schema: {
        tags: ['predictions'],
        summary:
          'Record the true label of a prediction (operator or admin; for accuracy monitoring and retraining)',
        description:
          'Needs the operator role, or (when AQUAML_FEEDBACK_ALLOW_AUTHOR is true) the user or API key that made the prediction. The label is stored with who gave it; retraining uses labels from operators and admins only.',
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        body: Type.Object(
          {
            label: Type.String({
              minLength: 1,
              maxLength: 100,
              description:
                'One of the model labels, or "unknown" for a fish it does not know / not a fish',
            }),
            note: Type.Optional(Type.String({ maxLength: 2000 })),
            new_class: Type.Optional(
              Type.Boolean({
                description:
                  'The label names a class the model does not know yet (operators only): retraining adds it as a new class',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: StoredPredictionSchema, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { id } = request.params;
      const principal = principalOf(request);
      const mayLabelAny = hasRole(principal, 'operator');
      if (!mayLabelAny && !ctx.config.security.feedbackAllowAuthor) {
        throw forbidden(`Feedback needs the operator role; you are ${principal.role}`);
      }
      await writer.flush();
      const existing = await queries.get(id);
      if (!existing) throw notFound(`No prediction ${id}`);
      // Another farm's prediction is as absent as a missing one; its viewers may not relabel it.
      if (existing.farmId) {
        const role = await ctx.farms.access.roleOn(principalOf(request), existing.farmId);
        if (!role) throw notFound(`No prediction ${id}`);
        if (role === 'viewer')
          throw forbidden('Feedback on a farm prediction needs the operator role on the farm');
      }
      const isAuthor =
        (principal.userId !== null && existing.userId === principal.userId) ||
        (principal.apiKeyId !== null && existing.apiKeyId === principal.apiKeyId);
      if (!mayLabelAny && !isAuthor) {
        throw forbidden('Viewers may label only their own predictions');
      }
      const model = await ctx.registry.get(existing.modelName, existing.modelVersion);
      const labels = (model?.manifest.labels as string[] | undefined) ?? [];
      const { label, note, new_class: newClass } = request.body;
      if (newClass) {
        // A new class changes what the next model can say: only an operator may introduce one.
        if (!mayLabelAny) throw forbidden('A new class needs the operator role');
        if (!NEW_CLASS_LABEL.test(label) || label === 'unknown')
          throw badRequest(
            'a new class label is lower-case letters, digits and single hyphens (e.g. "siganus-doliatus"), not "unknown"',
            'body.label',
          );
      } else if (label !== 'unknown' && labels.length && !labels.includes(label)) {
        throw badRequest(
          `label must be one of the model's labels (${labels.join(', ')}) or "unknown"; set new_class for a species the model does not know`,
          'body.label',
        );
      }
      const row = await queries.setFeedback(id, label, note ?? null, {
        userId: principal.userId,
        apiKeyId: principal.apiKeyId,
        role: principal.role,
      });
      return toStoredPrediction(row!);
    },
  );
};
