import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { HttpError } from '../../http/errors.ts';
import { ImageInputError } from '../../ml/preprocess.ts';
import type { ClassifyResult } from '../../serving/answer.ts';
import { RouteError } from '../../serving/router.ts';
import type { AppServices } from '../app-services.ts';
import { principalOf } from '../auth/plugin.ts';
import { farmsToHttp } from '../farms/errors.ts';
import { inferenceToHttp } from '../predictions/errors.ts';
import type { BinaryParts } from './protocol.ts';
import {
  InferRequestSchema,
  InferResponseSchema,
  NameParams,
  type Parameters,
  type RequestInput,
  v2Errors,
  VersionParams,
} from './schema.ts';
import {
  IMAGE_INPUT,
  idParameter,
  imagesOf,
  OUTPUTS,
  selectOutputs,
  topKParameter,
  toOutputs,
} from './tensors.ts';
import { versionsOf } from './versions.ts';

const TAGS = ['kserve-v2'];
/** Room for the JSON around the base64 image(s) of one request. */
const JSON_OVERHEAD_BYTES = 64 * 1024;

interface InferBody {
  id?: string;
  parameters?: Parameters;
  inputs: RequestInput[];
  outputs?: { name: string; parameters?: Parameters }[];
}

/** A failed image of a batch, reported as a v2 error naming the element. */
function inferError(err: unknown, index: number, count: number): never {
  if (err instanceof ImageInputError) {
    const where = count > 1 ? `input "${IMAGE_INPUT}" element ${index}` : `input "${IMAGE_INPUT}"`;
    const status = err.httpStatus === 413 ? 413 : 400;
    throw new HttpError(
      status,
      status === 413 ? 'Payload Too Large' : 'Bad Request',
      `${where}: ${err.message}`,
    );
  }
  return inferenceToHttp(err);
}

/**
 * Inference (v2): images as a BYTES tensor, through the same classification service as
 * /api/v1/predictions/classify.
 */
export const kserveInferRoutes: FastifyPluginAsyncTypebox<{
  ctx: AppServices;
  binaries: BinaryParts;
}> = async (app, { ctx, binaries }) => {
  async function infer(
    request: FastifyRequest<{ Body: InferBody }>,
    name: string,
    selector?: string,
  ) {
    const principal = principalOf(request);
    const body = request.body;
    const images = imagesOf(body.inputs, binaries.get(request));
    const outputs = selectOutputs(body.outputs);
    const topK = topKParameter(body.parameters);
    const unit = await ctx.farms.access
      .unitRef(principal, idParameter(body.parameters, 'unit_id'))
      .catch(farmsToHttp);
    const header = request.headers['x-device-id'];
    const deviceId =
      idParameter(body.parameters, 'device_id') ??
      idParameter(typeof header === 'string' ? { device_id: header } : undefined, 'device_id') ??
      null;
    // Without a version the model's traffic split decides (per image, sticky per caller or device);
    // with one, that version answers.
    const model = selector ? `${name}@${selector}` : name;
    const settled = await Promise.allSettled(
      images.map((image) =>
        ctx.serving.classifier.classify({
          image,
          model,
          ...unit,
          deviceId,
          userId: principal.userId,
          apiKeyId: principal.apiKeyId,
          callerId: principal.id,
          source: 'v2',
          topK,
          health: false,
        }),
      ),
    );
    const failed = settled.findIndex((s) => s.status === 'rejected');
    if (failed >= 0) {
      const reason = (settled[failed] as PromiseRejectedResult).reason;
      // A model without a route may not exist at all (404), or have no servable version (503).
      if (reason instanceof RouteError) await versionsOf(ctx.registry, name);
      inferError(reason, failed, images.length);
    }
    const results = settled.map((s) => (s as PromiseFulfilledResult<ClassifyResult>).value);
    const versions = [...new Set(results.map((r) => r.model.version))].sort((a, b) => a - b);
    return {
      model_name: name,
      model_version: versions.join(','),
      id: body.id ?? String(request.id),
      outputs: toOutputs(results, outputs),
    };
  }

  const inferErrors = v2Errors(400, 401, 403, 404, 413, 429, 503);
  const bodyLimit = Math.ceil((ctx.config.uploads.maxBytes * 4) / 3) + JSON_OVERHEAD_BYTES;
  const inferDescription =
    'Classifies n images sent as the BYTES input "image" of shape [n], each element a base64-encoded image; or, with the binary tensor extension, raw bytes after a JSON header of Inference-Header-Content-Length bytes (parameters.binary_data_size on the input; each element a 4-byte little-endian length then the bytes). Outputs: ' +
    OUTPUTS.map((o) => `${o.name} (${o.datatype}: ${o.description})`).join('; ') +
    `. Request parameters: top_k, unit_id, device_id. Body limit: ${bodyLimit} bytes.`;

  app.post(
    '/models/:name/infer',
    {
      bodyLimit,
      schema: {
        tags: TAGS,
        summary: 'Classify images (v2); the model’s traffic split picks the version',
        description: inferDescription,
        params: NameParams,
        body: InferRequestSchema,
        response: { 200: InferResponseSchema, ...inferErrors },
      },
    },
    async (request) => infer(request, request.params.name),
  );

  app.post(
    '/models/:name/versions/:version/infer',
    {
      bodyLimit,
      schema: {
        tags: TAGS,
        summary: 'Classify images with one model version (v2)',
        description: inferDescription,
        params: VersionParams,
        body: InferRequestSchema,
        response: { 200: InferResponseSchema, ...inferErrors },
      },
    },
    async (request) => infer(request, request.params.name, request.params.version),
  );
};
