import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { deviceOf } from '../auth/plugin.ts';
import { errors } from '../../http/schemas.ts';
import { METRIC_NAMES, METRICS } from './catalog.ts';

const tags = ['telemetry'];

/** About 100 bytes a reading in JSON. */
const BYTES_PER_READING = 128;

const ReadingIn = Type.Object(
  {
    metric: Type.Optional(Type.Unknown({ description: `One of ${METRIC_NAMES.join(', ')}` })),
    value: Type.Optional(Type.Unknown({ description: "A finite number in the metric's unit" })),
    ts: Type.Optional(
      Type.Unknown({ description: 'ISO 8601 date-time with zone, or epoch ms; default: now' }),
    ),
    unit: Type.Optional(
      Type.Unknown({ description: "Unit of measure; when given it must be the metric's" }),
    ),
  },
  { additionalProperties: true },
);

const IngestResultSchema = Type.Object({
  accepted: Type.Integer(),
  rejected: Type.Integer(),
  errors: Type.Array(Type.Object({ index: Type.Integer(), reason: Type.String() })),
  /** stored: written to the database; stream: on the durable stream, stored shortly after. */
  durability: Type.Union([Type.Literal('stored'), Type.Literal('stream')]),
});

/** Readings in over HTTP (devices; the MQTT door is modules/telemetry/mqtt-ingest.ts). */
export const telemetryRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  const { telemetry } = ctx;
  const maxBatch = ctx.config.telemetry.maxBatch;

  app.post(
    '/telemetry',
    {
      config: { auth: 'device' },
      bodyLimit: Math.max(1024 * 1024, maxBatch * BYTES_PER_READING),
      schema: {
        tags,
        summary: 'Post a batch of sensor readings (device API key)',
        description:
          `Each reading is checked on its own: unknown metric or unit of measure, physically impossible values (pH outside 0-14, negative oxygen, non-numbers) and times more than ${Math.round(ctx.config.telemetry.maxFutureSkewMs / 1000)} s ahead are rejected and reported by index, never stored. ` +
          'A reading repeating a stored (device, metric, ts) is accepted and stored once. ' +
          '200: the accepted readings are stored. 202: they are on the durable stream (REDIS_URL set) and stored within moments. ' +
          `Metrics and units: ${METRICS.map((m) => `${m.name} (${m.unit})`).join(', ')}. At most ${maxBatch} readings a request.`,
        body: Type.Object({ readings: Type.Array(ReadingIn, { maxItems: maxBatch }) }),
        response: {
          200: IngestResultSchema,
          202: IngestResultSchema,
          ...errors(400, 401, 403, 413, 429),
        },
      },
    },
    async (request, reply) => {
      const device = deviceOf(request);
      const result = await telemetry.ingest.ingest(device, request.body.readings, 'http');
      const durability = telemetry.pipeline.durability;
      return reply.code(durability === 'stored' ? 200 : 202).send({ ...result, durability });
    },
  );
};
