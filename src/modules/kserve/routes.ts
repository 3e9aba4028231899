// KServe Open Inference Protocol v2 (REST), so standard v2 clients (KServe, Triton) can call AquaML:
// health, server and model metadata, model readiness, and inference with images as a BYTES tensor.
// Inference goes through the same classification service as /api/v1/predictions/classify: traffic
// split (or a pinned version), cache, dynamic batching, metrics and prediction storage all apply.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AppServices } from '../app-services.ts';
import { kserveInferRoutes } from './infer-routes.ts';
import { kserveMetadataRoutes } from './metadata-routes.ts';
import { useV2Protocol } from './protocol.ts';

export const kserveRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  // Set here, so both route groups below parse and answer the v2 way.
  const binaries = useV2Protocol(app as unknown as FastifyInstance);
  await app.register(kserveMetadataRoutes, { ctx });
  await app.register(kserveInferRoutes, { ctx, binaries });
};
