import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../context.ts';
import { badRequest } from '../../http/errors.ts';
import { principalOf } from '../../http/plugins/auth.ts';
import { readUpload } from '../../http/upload.ts';
import { inferenceToHttp } from './errors.ts';
import type { ClassifyResult } from './service.ts';

const ID_TEXT = /^[\w.:-]{1,100}$/;

/** Optional ids from form fields (unit, device): short and plain, or a 400 naming the field. */
export function optionalId(value: string | undefined, field: string): string | null {
  if (value === undefined || value === '') return null;
  if (!ID_TEXT.test(value))
    throw badRequest(`${field} must be 1-100 letters, digits, _ . : -`, `body.${field}`);
  return value;
}

export const ClassifyQuery = Type.Object({
  model: Type.Optional(
    Type.String({ maxLength: 80, description: 'name, name@version or name@alias' }),
  ),
  top_k: Type.Integer({ minimum: 1, maximum: 50, default: 5 }),
  health: Type.Boolean({ default: true }),
});

export interface ClassifyQueryValues {
  model?: string;
  top_k: number;
  health: boolean;
}

/** One uploaded image (multipart field "file") classified synchronously for the caller. */
export async function classifyUpload(
  ctx: AppContext,
  request: FastifyRequest,
  query: ClassifyQueryValues,
  source: string,
): Promise<ClassifyResult> {
  const principal = principalOf(request);
  const { files, fields } = await readUpload(request, { fileField: 'file', maxFiles: 1 });
  return ctx.serving.classifier
    .classify({
      image: files[0]!.data,
      model: query.model,
      unitId: optionalId(fields.unit_id, 'unit_id'),
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
    })
    .catch(inferenceToHttp);
}
