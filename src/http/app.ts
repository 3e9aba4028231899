import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  LogController,
} from 'fastify';
import type { AppContext } from '../context.ts';
import { apiKeyRoutes } from '../modules/api-keys/routes.ts';
import { authRoutes } from '../modules/auth/routes.ts';
import { healthRoutes } from '../modules/health/routes.ts';
import { kserveRoutes } from '../modules/kserve/routes.ts';
import { modelRoutes } from '../modules/models/routes.ts';
import { modelServingRoutes } from '../modules/models/serving-routes.ts';
import { inferenceRoutes } from '../modules/inference/routes.ts';
import { predictionRoutes } from '../modules/predictions/routes.ts';
import { trainingRoutes } from '../modules/training/routes.ts';
import { speciesRoutes } from '../modules/species/routes.ts';
import { taskRoutes } from '../modules/tasks/routes.ts';
import { userRoutes } from '../modules/users/routes.ts';
import { notFound } from './errors.ts';
import { metricsRoutes } from './metrics-route.ts';
import { authPlugin } from './plugins/auth.ts';
import { ProblemSchema, sendProblem, toProblem } from './problem.ts';
import './types.ts';

export async function buildApp(ctx: AppContext): Promise<FastifyInstance> {
  return buildTypedApp(ctx) as unknown as Promise<FastifyInstance>;
}

async function buildTypedApp(ctx: AppContext) {
  const app = Fastify({
    loggerInstance: ctx.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // One line per request is written by the onResponse hook below, with latency and user.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: true,
    bodyLimit: 1024 * 1024,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addSchema(ProblemSchema);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // A request without a body is validated as an empty JSON object, so optional bodies work and a
  // missing body reports its required fields by name.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.routeOptions.schema?.body) request.body = {};
  });
  app.addHook('onResponse', async (request, reply) => {
    ctx.metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    // Probes are polled every few seconds (a not-ready 503 is their normal answer while loading):
    // they would drown the log, so they go to debug. Overload (503) is a warning, not an error.
    const probe = /^\/(health|live|ready)(\/|$)|^\/v2\/health\//.test(request.url);
    const level = probe
      ? 'debug'
      : reply.statusCode === 503
        ? 'warn'
        : reply.statusCode >= 500
          ? 'error'
          : 'info';
    request.log[level](
      {
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        latency_ms: Math.round(reply.elapsedTime * 100) / 100,
        user_id: request.principal?.id,
      },
      'request completed',
    );
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { problem, headers } = toProblem(err, request);
    if (problem.status >= 500) request.log.error({ err }, 'request failed');
    return sendProblem(reply, problem, headers);
  });
  app.setNotFoundHandler((request, reply) => {
    const { problem } = toProblem(
      notFound(`No route for ${request.method} ${request.url}`),
      request,
    );
    return sendProblem(reply, problem);
  });

  await app.register(helmet, {
    // The Swagger UI needs inline scripts and styles.
    contentSecurityPolicy: {
      directives: {
        'script-src': ["'self'", "'unsafe-inline'"],
        'style-src': ["'self'", "'unsafe-inline'"],
        'img-src': ["'self'", 'data:', 'blob:'],
      },
    },
  });
  await app.register(cors, {
    origin: ctx.config.corsOrigins.length ? ctx.config.corsOrigins : false,
    credentials: true,
  });

  await app.register(multipart, {
    limits: { fileSize: ctx.config.uploads.maxBytes, files: 256, fields: 20, parts: 300 },
  });

  await app.register(swagger, {
    // Multipart routes parse their own body; their declared form fields are shown in the docs.
    transform: ({ schema, url, route }) => {
      const form = (route.config as { multipart?: object } | undefined)?.multipart;
      return form
        ? { url, schema: { ...schema, consumes: ['multipart/form-data'], body: form } }
        : { url, schema };
    },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'AquaML API',
        version: '1',
        description:
          'Fish classification and health, model registry and serving, farm monitoring. Errors use RFC 9457 problem details.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } });

  await app.register(authPlugin, { authenticator: ctx.authenticator });
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: (request) =>
      request.principal?.kind === 'api_key'
        ? ctx.config.rateLimit.apiKeyMax
        : ctx.config.rateLimit.max,
    timeWindow: ctx.config.rateLimit.windowMs,
    keyGenerator: (request) =>
      request.principal ? `p:${request.principal.id}` : `ip:${request.ip}`,
    allowList: (request) => !request.url.startsWith('/api/') && !request.url.startsWith('/v2/'),
    errorResponseBuilder: (_request, context) => {
      const err = new Error(
        `Rate limit of ${context.max} requests per ${context.after} exceeded; retry in ${Math.ceil(context.ttl / 1000)} s`,
      ) as Error & { statusCode: number };
      err.statusCode = 429;
      return err;
    },
    ...(ctx.rateLimitRedis
      ? { redis: ctx.rateLimitRedis, nameSpace: `${ctx.config.redisPrefix}:rl:` }
      : {}),
  });

  await app.register(healthRoutes, { ctx });
  await app.register(metricsRoutes, { ctx });
  // KServe Open Inference Protocol v2 at the root, as v2 clients expect.
  await app.register(kserveRoutes, { ctx, prefix: '/v2' });
  await app.register(
    async (api) => {
      await api.register(authRoutes, { ctx, prefix: '/auth' });
      await api.register(userRoutes, { ctx, prefix: '/users' });
      await api.register(apiKeyRoutes, { ctx, prefix: '/api-keys' });
      await api.register(speciesRoutes, { ctx, prefix: '/species' });
      await api.register(modelRoutes, { ctx, prefix: '/models' });
      await api.register(modelServingRoutes, { ctx, prefix: '/models' });
      await api.register(trainingRoutes, { ctx, prefix: '/models' });
      await api.register(predictionRoutes, { ctx, prefix: '/predictions' });
      await api.register(inferenceRoutes, { ctx, prefix: '/ml' });
      await api.register(taskRoutes, { ctx, prefix: '/tasks' });
    },
    { prefix: '/api/v1' },
  );
  return app;
}
