import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { serviceUnavailable } from '../../http/errors.ts';
import { RouteError } from '../../serving/router.ts';
import { keyOf } from '../../serving/runtime.ts';
import type { AppServices } from '../app-services.ts';
import {
  LiveSchema,
  ModelMetadataSchema,
  ModelReadySchema,
  NameParams,
  ReadySchema,
  ServerMetadataSchema,
  v2Errors,
  VersionParams,
} from './schema.ts';
import { IMAGE_INPUT, OUTPUTS } from './tensors.ts';
import { versionOf, versionsOf } from './versions.ts';

const TAGS = ['kserve-v2'];
/** Extensions of the protocol this server implements. */
const EXTENSIONS = ['binary_tensor_data'];

/** Server and model metadata, liveness and readiness (v2). */
export const kserveMetadataRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  const { registry, serving } = ctx;
  const publicRoute = { auth: 'public' as const };

  app.get(
    '',
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
      const waiting = ctx.probes.notReadyBecause();
      if (waiting.length) throw serviceUnavailable(`not ready; waiting for ${waiting.join(', ')}`);
      return { ready: true };
    },
  );

  async function metadata(name: string, selector?: string) {
    const rows = selector
      ? [await versionOf(registry, name, selector)]
      : await versionsOf(registry, name);
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
      const row = await versionOf(registry, name, selector);
      if (row.status === 'archived') {
        throw serviceUnavailable(
          `model "${name}" version ${row.version} is archived; it is not served`,
        );
      }
      // Loaded, or loadable on first request (registered and not archived).
      return { name, versions: [String(row.version)], ready: true };
    }
    await versionsOf(registry, name);
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

  const modelErrors = v2Errors(400, 401, 403, 404, 429, 503);

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
};
