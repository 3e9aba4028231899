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
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import type { AppContext } from '../context.ts';
import { alertActionRoutes } from '../modules/alerts/action-routes.ts';
import { alertRoutes } from '../modules/alerts/routes.ts';
import { apiKeyRoutes } from '../modules/api-keys/routes.ts';
import { auditRoutes } from '../modules/audit/routes.ts';
import { authRoutes } from '../modules/auth/routes.ts';
import { deviceRoutes } from '../modules/farms/device-routes.ts';
import { farmRoutes } from '../modules/farms/farm-routes.ts';
import { farmUnitRoutes } from '../modules/farms/farm-unit-routes.ts';
import { frameRoutes } from '../modules/farms/frame-routes.ts';
import { kpiExportRoutes } from '../modules/farms/kpi-export-routes.ts';
import { kpiRoutes } from '../modules/farms/kpi-routes.ts';
import { farmMemberRoutes } from '../modules/farms/member-routes.ts';
import { unitLogRoutes } from '../modules/farms/unit-log-routes.ts';
import { unitRoutes } from '../modules/farms/unit-routes.ts';
import { kserveRoutes } from '../modules/kserve/routes.ts';
import { modelConfusionRoutes } from '../modules/models/confusion-route.ts';
import { modelLifecycleRoutes } from '../modules/models/lifecycle-routes.ts';
import { modelRoutes } from '../modules/models/routes.ts';
import { modelServingRoutes } from '../modules/models/serving-routes.ts';
import { modelTrafficRoutes } from '../modules/models/traffic-routes.ts';
import { mlModelRoutes } from '../modules/ml-api/model-routes.ts';
import { mlPredictRoutes } from '../modules/ml-api/predict-routes.ts';
import { predictionImageRoutes } from '../modules/predictions/image-route.ts';
import { classifyRoutes } from '../modules/predictions/classify-routes.ts';
import { predictionFeedbackRoutes } from '../modules/predictions/feedback-route.ts';
import { predictionHistoryRoutes } from '../modules/predictions/history-routes.ts';
import { trainingRoutes } from '../modules/training/routes.ts';
import { speciesRoutes } from '../modules/species/routes.ts';
import { taskRoutes } from '../modules/tasks/routes.ts';
import { unitReadingRoutes } from '../modules/telemetry/reading-routes.ts';
import { telemetryRoutes } from '../modules/telemetry/routes.ts';
import { unitThresholdRoutes } from '../modules/telemetry/threshold-routes.ts';
import { userRoutes } from '../modules/users/routes.ts';
import { AuthenticationError } from '../modules/auth/authenticator.ts';
import { authPlugin } from '../modules/auth/plugin.ts';
import { performanceRoutes } from '../modules/metrics/performance-routes.ts';
import { metricsRoutes } from '../modules/metrics/routes.ts';
import { probeRoutes } from '../modules/probes/routes.ts';
import { notFound, unauthorized } from './errors.ts';
import { applyInputLimits, finiteNumbers, saneDateTimeFormat } from './input-limits.ts';
import { tracingActive } from '../observability/tracing.ts';
import { installTracing } from './tracing-hooks.ts';
import { dashboard, type DashboardPage } from './plugins/dashboard.ts';
import { ProblemSchema, sendProblem, toProblem } from './problem.ts';
import { buildSerializerFactory } from './serializer.ts';
import './types.ts';

/** What /api/v1/metrics/performance counts: the API and KServe calls, not probes, scrapes or docs. */
const isApiTraffic = (url: string) =>
  url.startsWith('/api/') || (url.startsWith('/v2/') && !url.startsWith('/v2/health/'));

export async function buildApp(ctx: AppContext): Promise<FastifyInstance> {
  return buildTypedApp(ctx) as unknown as Promise<FastifyInstance>;
}

/** The same rule as the api's: /metrics and /health/detailed need the monitoring token or an admin. */
async function registerAuth(app: FastifyInstance, ctx: AppContext): Promise<void> {
  await app.register(authPlugin, {
    authenticator: ctx.authenticator,
    credentialFailures: ctx.credentialFailures,
    monitoring: {
      token: ctx.config.security.metricsToken,
      public: ctx.config.security.metricsPublic,
    },
  });
}

/**
 * The worker's listener: probes and /metrics only, no API. Orchestrators probe it and Prometheus
 * scrapes its task-queue depth and process metrics like the api's.
 */
export async function buildOpsApp(ctx: AppContext): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.logger.child({ component: 'ops-http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  await registerAuth(app, ctx);
  await app.register(probeRoutes, { ctx });
  await app.register(metricsRoutes, { ctx });
  return app;
}

async function buildTypedApp(ctx: AppContext) {
  const app = Fastify({
    loggerInstance: ctx.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // One line per request is written by the onResponse hook below, with latency and user.
    logController: new LogController({ disableRequestLogging: true }),
    // Only listed proxies may name the client address (config: AQUAML_TRUST_PROXY).
    // Fastify also takes a hop count, which its types leave out.
    trustProxy: ctx.config.trustProxy as string[] | false,
    bodyLimit: 1024 * 1024,
    // Paths are documented without a trailing slash; a client that adds one still gets there.
    routerOptions: { ignoreTrailingSlash: true },
    // Errors the router raises before a route is found (an undecodable URL, an overlong path
    // segment) answer in the same problem+json form as every other error.
    frameworkErrors: (err, request, reply) => {
      const { problem, headers } = toProblem(err, request);
      sendProblem(reply, problem, headers);
    },
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    schemaController: { compilersFactory: { buildSerializer: buildSerializerFactory } },
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true },
      onCreate: (
        ajv: Parameters<typeof saneDateTimeFormat>[0] & Parameters<typeof finiteNumbers>[0],
      ) => {
        saneDateTimeFormat(ajv);
        finiteNumbers(ajv);
      },
    } as FastifyServerOptions['ajv'],
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addSchema(ProblemSchema);
  applyInputLimits(app as unknown as FastifyInstance);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // A request without a body is validated as an empty JSON object, so optional bodies work and a
  // missing body reports its required fields by name.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.routeOptions.schema?.body) request.body = {};
  });
  if (tracingActive()) installTracing(app);
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    // The Swagger UI's files are not API traffic: they would only blur the request histogram.
    if (!route.startsWith('/docs/static')) {
      ctx.metrics.httpDuration.observe(
        { method: request.method, route, status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    }
    if (isApiTraffic(request.url)) {
      ctx.performance.record(reply.elapsedTime, reply.statusCode >= 500);
    }
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
  // Set once the dashboard is registered (below): a non-API GET then gets its page.
  const dashboardRef: { page?: DashboardPage } = {};
  app.setNotFoundHandler((request, reply) => {
    const page = dashboardRef.page?.(request, reply);
    if (page) return page;
    const { problem } = toProblem(
      notFound(`No route for ${request.method} ${request.url}`),
      request,
    );
    return sendProblem(reply, problem);
  });

  // HSTS and upgrade-insecure-requests only make sense behind TLS: on plain HTTP they would lock
  // browsers out of a farm's LAN address, so they are sent only when configured (AQUAML_HSTS).
  const tls = ctx.config.security.hsts;
  await app.register(helmet, {
    // The Swagger UI needs inline scripts and styles.
    contentSecurityPolicy: {
      directives: {
        'script-src': ["'self'", "'unsafe-inline'"],
        'style-src': ["'self'", "'unsafe-inline'"],
        'img-src': ["'self'", 'data:', 'blob:'],
        'upgrade-insecure-requests': tls ? [] : null,
      },
    },
    strictTransportSecurity: tls ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  });
  await app.register(cors, {
    origin: ctx.config.corsOrigins.length ? ctx.config.corsOrigins : false,
    credentials: true,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    exposedHeaders: [
      'Retry-After',
      'RateLimit-Limit',
      'RateLimit-Remaining',
      'RateLimit-Reset',
      'X-RateLimit-Limit',
      'X-RateLimit-Remaining',
      'X-RateLimit-Reset',
      'X-Request-Id',
      'Location',
    ],
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
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { deepLinking: true },
    // AQUAML_DOCS_PUBLIC=false: the document and the UI need a signed-in user or an API key.
    ...(ctx.config.security.docsPublic
      ? {}
      : {
          uiHooks: {
            onRequest: async (request: FastifyRequest) => {
              const principal = await ctx.authenticator
                .authenticate(request.headers)
                .catch((err: unknown) => {
                  if (err instanceof AuthenticationError) throw unauthorized(err.message);
                  throw err;
                });
              if (!principal) throw unauthorized('The API documentation needs credentials here');
            },
          },
        }),
  });

  await registerAuth(app as unknown as FastifyInstance, ctx);
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: (request) =>
      request.principal && request.principal.kind !== 'user'
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
      ? {
          redis: ctx.rateLimitRedis,
          nameSpace: `${ctx.config.redisPrefix}:rl:`,
          // During a Redis outage requests are not counted rather than refused: the API keeps
          // serving, unthrottled, until Redis is back (docs/operations.md, Reliability).
          skipOnError: true,
        }
      : {}),
  });

  await app.register(probeRoutes, { ctx });
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
      await api.register(modelLifecycleRoutes, { ctx, prefix: '/models' });
      await api.register(modelServingRoutes, { ctx, prefix: '/models' });
      await api.register(modelTrafficRoutes, { ctx, prefix: '/models' });
      await api.register(modelConfusionRoutes, { ctx, prefix: '/models' });
      await api.register(trainingRoutes, { ctx, prefix: '/models' });
      await api.register(classifyRoutes, { ctx, prefix: '/predictions' });
      await api.register(predictionHistoryRoutes, { ctx, prefix: '/predictions' });
      await api.register(predictionFeedbackRoutes, { ctx, prefix: '/predictions' });
      await api.register(predictionImageRoutes, { ctx, prefix: '/predictions' });
      await api.register(mlPredictRoutes, { ctx, prefix: '/ml' });
      await api.register(mlModelRoutes, { ctx, prefix: '/ml' });
      await api.register(taskRoutes, { ctx, prefix: '/tasks' });
      await api.register(auditRoutes, { ctx, prefix: '/audit' });
      await api.register(performanceRoutes, { ctx, prefix: '/metrics' });
      await api.register(farmRoutes, { ctx, prefix: '/farms' });
      await api.register(farmMemberRoutes, { ctx, prefix: '/farms' });
      await api.register(farmUnitRoutes, { ctx, prefix: '/farms' });
      await api.register(unitRoutes, { ctx, prefix: '/units' });
      await api.register(unitLogRoutes, { ctx, prefix: '/units' });
      await api.register(frameRoutes, { ctx, prefix: '/units' });
      await api.register(kpiRoutes, { ctx });
      await api.register(kpiExportRoutes, { ctx });
      await api.register(deviceRoutes, { ctx, prefix: '/devices' });
      await api.register(telemetryRoutes, { ctx });
      await api.register(unitReadingRoutes, { ctx, prefix: '/units' });
      await api.register(unitThresholdRoutes, { ctx, prefix: '/units' });
      await api.register(alertRoutes, { ctx, prefix: '/alerts' });
      await api.register(alertActionRoutes, { ctx, prefix: '/alerts' });
    },
    { prefix: '/api/v1' },
  );
  // The operator dashboard (web/), at `/`; its client-side routes come through the 404 handler.
  dashboardRef.page = await dashboard(app as unknown as FastifyInstance);
  return app;
}
