import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { badRequest } from '../../http/errors.ts';
import { DEFAULT_TOP_K } from '../../serving/answer.ts';
import { principalOf } from '../auth/plugin.ts';
import { readUpload } from '../../http/upload.ts';
import { farmsToHttp } from '../farms/errors.ts';
import { inferenceToHttp } from './errors.ts';
import type { ClassifyResult } from '../../serving/answer.ts';

const ID_TEXT = /^[\w.:-]{1,100}$/;

/** Optional ids from form fields (unit, device): short and plain, or a 400 naming the field. */
export function optionalId(value: string | undefined, field: string): string | null {
  if (value === undefined || value === '') return null;
  if (!ID_TEXT.test(value))
    throw badRequest(`${field} must be 1-100 letters, digits, _ . : -`, `body.${field}`);
  return value;
}

/** The most classes an answer lists. */
export const MAX_TOP_K = 50;

/** `top_k`: how many classes an answer lists. */
export const TopKQuery = Type.Integer({ minimum: 1, maximum: MAX_TOP_K, default: DEFAULT_TOP_K });

export const ClassifyQuery = Type.Object({
  model: Type.Optional(
    Type.String({ maxLength: 80, description: 'name, name@version or name@alias' }),
  ),
  top_k: TopKQuery,
  health: Type.Boolean({ default: true }),
});

/**
 * The model a request names: `?model=` or a multipart field `model` (the same value in both is
 * fine; two different ones are a 400, never one silently ignored).
 */
export function requestedModel(
  query: { model?: string },
  fields: Record<string, string>,
): string | undefined {
  const field = fields.model === '' ? undefined : fields.model;
  if (field !== undefined && query.model !== undefined && field !== query.model) {
    throw badRequest(
      `the form field model (${field}) and ?model= (${query.model}) name different models`,
      'body.model',
    );
  }
  const model = query.model ?? field;
  if (model !== undefined && model.length > 80) {
    throw badRequest('model must be at most 80 characters', 'body.model');
  }
  return model;
}

export interface ClassifyQueryValues {
  model?: string;
  top_k: number;
  health: boolean;
}

/** One uploaded image (multipart field "file") classified synchronously for the caller. */
export async function classifyUpload(
  ctx: AppServices,
  request: FastifyRequest,
  query: ClassifyQueryValues,
  source: string,
): Promise<ClassifyResult> {
  // Before the body is read: the prediction is dated when the request came in.
  const receivedAt = new Date();
  const principal = principalOf(request);
  const { files, fields } = await readUpload(request, { fileField: 'file', maxFiles: 1 });
  const unit = await ctx.farms.access
    .unitRef(principal, optionalId(fields.unit_id, 'unit_id'))
    .catch(farmsToHttp);
  return ctx.serving.classifier
    .classify({
      image: files[0]!.data,
      model: requestedModel(query, fields),
      ...unit,
      deviceId: optionalId(
        fields.device_id ?? (request.headers['x-device-id'] as string | undefined),
        'device_id',
      ),
      userId: principal.userId,
      apiKeyId: principal.apiKeyId,
      callerId: principal.id,
      source,
      topK: query.top_k,
      health: query.health,
      receivedAt,
    })
    .catch(inferenceToHttp);
}
