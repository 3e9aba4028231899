// KServe Open Inference Protocol v2 (REST), so standard v2 clients (KServe, Triton) can call AquaML:
// health, server and model metadata, model readiness, and inference with images as a BYTES tensor.
// Inference goes through the same classification service as /api/v1/predictions/classify: traffic
// split (or a pinned version), cache, dynamic batching, metrics and prediction storage all apply.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import { HttpError, notFound, serviceUnavailable } from '../../http/errors.ts';
import { principalOf } from '../../http/plugins/auth.ts';
import { toProblem } from '../../http/problem.ts';
import { ImageInputError } from '../../ml/preprocess.ts';
import { RouteError } from '../../serving/router.ts';
import { keyOf } from '../../serving/runtime.ts';
import { type ModelRow, RegistryError } from '../models/registry.ts';
import { inferenceToHttp } from '../predictions/errors.ts';
import type { ClassifyResult } from '../predictions/service.ts';
import {
  InferRequestSchema,
  InferResponseSchema,
  LiveSchema,
  ModelMetadataSchema,
  ModelReadySchema,
  NameParams,
  type Parameters,
  ReadySchema,
  type RequestInput,
  ServerMetadataSchema,
  v2Errors,
  VersionParams,
} from './schema.ts';
import {
  IMAGE_INPUT,
  idParameter,
  imagesOf,
  OUTPUTS,
  selectOutputs,
  splitBinaryBody,
  topKParameter,
  toOutputs,
} from './tensors.ts';

const TAGS = ['kserve-v2'];
/** Extensions of the protocol this server implements. */
const EXTENSIONS = ['binary_tensor_data'];
/** Room for the JSON around the base64 image(s) of one request. */
const JSON_OVERHEAD_BYTES = 64 * 1024;

interface InferBody {
  id?: string;
  parameters?: Parameters;
  inputs: RequestInput[];
  outputs?: { name: string; parameters?: Parameters }[];
}

type JsonParser = (
  request: FastifyRequest,
  body: string,
  done: (err: Error | null, body?: unknown) => void,
) => void;

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

export const kserveRoutes: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (
  app,
  { ctx },
) => {
  const { registry, serving } = ctx;

  // Bodies: JSON, or (binary tensor extension) a JSON header of Inference-Header-Content-Length
  // bytes followed by raw tensor data. Triton's client sends the latter without a content type.
  const binaries = new WeakMap<FastifyRequest, Buffer>();
  const parseJson = app.getDefaultJsonParser('error', 'error') as JsonParser;
  const parseBody = (
    request: FastifyRequest,
    body: Buffer,
    done: (err: Error | null, body?: unknown) => void,
  ) => {
    const header = request.headers['inference-header-content-length'];
    let json = body;
    if (header !== undefined) {
      try {
        const parts = splitBinaryBody(body, String(header));
        binaries.set(request, parts.binary);
        json = parts.json;
      } catch (err) {
        done(err as Error);
        return;
      }
    }
    parseJson(request, json.toString('utf8'), done);
  };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    ['application/json', 'application/octet-stream'],
    { parseAs: 'buffer' },
    parseBody,
  );
  app.addContentTypeParser('*', { parseAs: 'buffer' }, parseBody);

  // v2 clients read `{ "error": "..." }`, not problem details.
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { problem, headers } = toProblem(err, request);
    if (problem.status >= 500) request.log.error({ err }, 'request failed');
    return reply.code(problem.status).headers(headers).send({ error: problem.detail });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `No route for ${request.method} ${request.url}` }),
  );

  const publicRoute = { auth: 'public' as const };

  app.get(
    '/',
    {
      config: publicRoute,
      schema: {
        tags: TAGS,
        summary: 'Server metadata (Open Inference Protocol v2)',
        response: { 200: ServerMetadataSchema },
      },
    },
    async () => ({ name: 'aquaml', version: ctx.version, extensions: EXTENSIONS }),
  );

  app.get(
    '/health/live',
    {
      config: publicRoute,
      schema: {
        tags: TAGS,
        summary: 'Server liveness (v2)',
        response: { 200: LiveSchema },
      },
    },
    async () => ({ live: true }),
  );

  app.get(
    '/health/ready',
    {
      config: publicRoute,
      schema: {
        tags: TAGS,
        summary: 'Server readiness (v2): migrations applied and served models loaded, as /ready',
        response: { 200: ReadySchema, ...v2Errors(503) },
      },
    },
    async () => {
      const waiting = ctx.health.notReadyBecause();
      if (waiting.length) throw serviceUnavailable(`not ready; waiting for ${waiting.join(', ')}`);
      return { ready: true };
    },
  );

  /** The registered versions of a model (404 when it has none at all). */
  async function versionsOf(name: string): Promise<ModelRow[]> {
    const all = await registry.list({ name, includeArchived: true });
    if (!all.length) throw notFound(`model "${name}" not found`);
    return all.filter((r) => r.status !== 'archived');
  }

  /** One registered version by number or alias (404 when unknown). */
  async function versionOf(name: string, selector: string): Promise<ModelRow> {
    try {
      return await registry.resolve({ name, selector });
    } catch (err) {
      if (err instanceof RegistryError && err.kind === 'not_found') {
        throw notFound(`model "${name}" has no version "${selector}"`);
      }
      throw err;
    }
  }

  async function metadata(name: string, selector?: string) {
    const rows = selector ? [await versionOf(name, selector)] : await versionsOf(name);
    return {
      name,
      versions: rows.map((r) => String(r.version)),
      platform: 'onnxruntime',
      inputs: [{ name: IMAGE_INPUT, datatype: 'BYTES', shape: [-1] }],
      outputs: OUTPUTS.map((o) => ({ name: o.name, datatype: o.datatype, shape: [-1] })),
    };
  }

  async function ready(name: string, selector?: string) {
    if (selector) {
      const row = await versionOf(name, selector);
      if (row.status === 'archived') {
        throw serviceUnavailable(
          `model "${name}" version ${row.version} is archived; it is not served`,
        );
      }
      // Loaded, or loadable on first request (registered and not archived).
      return { name, versions: [String(row.version)], ready: true };
    }
    await versionsOf(name);
    let versions: number[];
    try {
      const route = await serving.router.route(name);
      versions = [...new Set(route.split.map((s) => s.version))];
    } catch (err) {
      if (err instanceof RouteError) throw serviceUnavailable(err.message);
      throw err;
    }
    const loaded = new Set(serving.runtime.loaded());
    versions.sort((a, b) => a - b);
    for (const version of versions) {
      if (loaded.has(keyOf({ name, version }))) continue;
      const row = await registry.get(name, version);
      if (!row || row.status === 'archived') {
        throw serviceUnavailable(`model "${name}" version ${version} cannot be served`);
      }
    }
    return { name, versions: versions.map(String), ready: true };
  }

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
    const unitId = idParameter(body.parameters, 'unit_id') ?? null;
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
        serving.classifier.classify({
          image,
          model,
          unitId,
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
      if (reason instanceof RouteError) await versionsOf(name);
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

  const modelErrors = v2Errors(400, 401, 403, 404, 429, 503);
  const inferErrors = v2Errors(400, 401, 403, 404, 413, 429, 503);
  const bodyLimit = Math.ceil((ctx.config.uploads.maxBytes * 4) / 3) + JSON_OVERHEAD_BYTES;
  const inferDescription =
    'Classifies n images sent as the BYTES input "image" of shape [n], each element a base64-encoded image; or, with the binary tensor extension, raw bytes after a JSON header of Inference-Header-Content-Length bytes (parameters.binary_data_size on the input; each element a 4-byte little-endian length then the bytes). Outputs: ' +
    OUTPUTS.map((o) => `${o.name} (${o.datatype}: ${o.description})`).join('; ') +
    `. Request parameters: top_k, unit_id, device_id. Body limit: ${bodyLimit} bytes.`;

  app.get(
    '/models/:name',
    {
      schema: {
        tags: TAGS,
        summary: 'Model metadata (v2): served versions, input and output tensors',
        params: NameParams,
        response: { 200: ModelMetadataSchema, ...modelErrors },
      },
    },
    async (request) => metadata(request.params.name),
  );

  app.get(
    '/models/:name/versions/:version',
    {
      schema: {
        tags: TAGS,
        summary: 'Model version metadata (v2)',
        params: VersionParams,
        response: { 200: ModelMetadataSchema, ...modelErrors },
      },
    },
    async (request) => metadata(request.params.name, request.params.version),
  );

  app.get(
    '/models/:name/ready',
    {
      schema: {
        tags: TAGS,
        summary:
          'Model readiness (v2): every version its traffic split names is loaded or loadable',
        params: NameParams,
        response: { 200: ModelReadySchema, ...modelErrors },
      },
    },
    async (request) => ready(request.params.name),
  );

  app.get(
    '/models/:name/versions/:version/ready',
    {
      schema: {
        tags: TAGS,
        summary: 'Model version readiness (v2): loaded, or registered and not archived',
        params: VersionParams,
        response: { 200: ModelReadySchema, ...modelErrors },
      },
    },
    async (request) => ready(request.params.name, request.params.version),
  );

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
