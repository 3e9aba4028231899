// Property-based fuzzing of the parsers behind the doors (issue 15): sensor readings (HTTP batch
// and MQTT payloads), archives of images (zip, tar, tar.gz) and image decoding. Each must answer
// with a result or its own typed refusal, never throw anything else, hang, or overrun its budget.
// FUZZ_RUNS (default 1000) sets the cases per property; FUZZ_SEED replays a run.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { HttpError } from '../../src/http/errors.ts';
import { ImageInputError, decodeRgb, DEFAULT_PREPROCESS } from '../../src/ml/preprocess.ts';
import { type BatchBudget, expandBatch } from '../../src/modules/ml-api/upload-bundles.ts';
import { parsePayload, parseTopic } from '../../src/modules/telemetry/mqtt-ingest.ts';
import type { DeviceActor, ReadingInput } from '../../src/modules/telemetry/reading.ts';
import { validateReading } from '../../src/modules/telemetry/validate.ts';
import { createDevice, createFarm, createUnit } from '../farms/helpers.ts';
import { signedInUser, startTestApp, type TestApp } from '../support/app.ts';
import { fuzzFiles, type FuzzFile } from './support/files.ts';
import {
  announceSeed,
  assertPrototypeClean,
  FUZZ_RUNS,
  FUZZ_SEED,
  hostileJson,
  hostileNumber,
  hostileString,
  poisoned,
} from './support/hostile.ts';

const params = { seed: FUZZ_SEED, numRuns: FUZZ_RUNS, endOnFailure: true };
const METRICS = ['temperature', 'dissolved_oxygen', 'ph', 'ammonia_total', 'salinity', 'turbidity'];
const device: DeviceActor = {
  deviceId: '11111111-1111-4111-8111-111111111111',
  unitId: '22222222-2222-4222-8222-222222222222',
  farmId: '33333333-3333-4333-8333-333333333333',
} as DeviceActor;
const validation = { maxFutureSkewMs: 5 * 60_000, maxAgeMs: 30 * 24 * 3600_000 };
const REJECT_CODES = new Set([
  'invalid',
  'unknown_metric',
  'unknown_unit',
  'invalid_value',
  'impossible_value',
  'invalid_ts',
  'future_ts',
  'stale_ts',
]);

const readingArb: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      {
        metric: fc.oneof(fc.constantFrom(...METRICS), hostileString, hostileJson),
        value: fc.oneof(
          hostileNumber,
          fc.constantFrom(NaN, Infinity, -Infinity, '7.2', null, true, [], {}),
          hostileJson,
        ),
        ts: fc.oneof(
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          fc.constant(new Date().toISOString()),
          hostileString,
          hostileNumber,
          hostileJson,
        ),
        unit: fc.oneof(fc.constantFrom('c', '°C', 'mg/L', 'ppt', 'NTU', 'F'), hostileString),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: hostileJson },
  { weight: 1, arbitrary: fc.constant(null).map(() => poisoned({ metric: 'ph', value: 7 })) },
);

before(() => announceSeed('parsers'));

describe('telemetry readings', () => {
  test('validation gives a reading in range or a known refusal, for any input', () => {
    fc.assert(
      fc.property(readingArb, (input) => {
        const v = validateReading(input as ReadingInput, device, validation);
        if (v.ok) {
          assert.ok(Number.isFinite(v.reading.value));
          assert.equal(v.reading.deviceId, device.deviceId);
        } else {
          assert.ok(REJECT_CODES.has(v.code), v.code);
          // The reason echoes at most a bounded piece of the input.
          assert.ok(v.reason.length < 300, v.reason);
        }
      }),
      params,
    );
    assertPrototypeClean();
  });

  test('MQTT topics: only aquaml/<farm>/<unit>/<device>/<metric> with UUIDs is read', () => {
    const uuid = fc.uuid();
    fc.assert(
      fc.property(
        fc.oneof(
          fc
            .tuple(uuid, uuid, uuid, fc.oneof(fc.constantFrom(...METRICS), hostileString))
            .map(([f, u, d, m]) => `aquaml/${f}/${u}/${d}/${m}`),
          hostileString.map((s) => `aquaml/${s}`),
          fc.array(hostileString, { maxLength: 8 }).map((a) => a.join('/')),
          fc.string({ unit: 'binary', maxLength: 300 }),
        ),
        (topic) => {
          const parts = parseTopic(topic);
          if (!parts) return;
          for (const id of [parts.farmId, parts.unitId, parts.deviceId]) {
            assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
          }
          assert.ok(parts.metric.length > 0 && !parts.metric.includes('/'));
        },
      ),
      params,
    );
  });

  test('MQTT payloads: a number, a JSON object or nothing; validation then never throws', () => {
    const payloadArb = fc.oneof(
      hostileNumber.map((n) => String(n)),
      fc.constantFrom('7.2', ' 7.2 ', '0x10', '1e999', 'NaN', '', '{', '{}', '[]', 'null', '-'),
      hostileJson.map((v) => JSON.stringify(v) ?? ''),
      readingArb.map((v) => JSON.stringify(v) ?? ''),
      fc.constant(`{"value":${'9'.repeat(5000)}}`),
      fc.string({ unit: 'binary', maxLength: 600 }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...METRICS), payloadArb, (metric, text) => {
        const input = parsePayload(metric, Buffer.from(text, 'utf8'));
        if (input === undefined) return;
        assert.equal(input.metric, metric);
        const v = validateReading(input, device, validation);
        if (v.ok) assert.ok(Number.isFinite(v.reading.value));
      }),
      params,
    );
    assertPrototypeClean();
  });
});

describe('archives and images', () => {
  let files: Awaited<ReturnType<typeof fuzzFiles>>;
  before(async () => {
    files = await fuzzFiles();
  });
  const budget: BatchBudget = {
    maxImages: 64,
    maxEntryBytes: 8 * 1024 * 1024,
    maxTotalBytes: 32 * 1024 * 1024,
    maxRatio: 200,
  };

  /** A file with a few bytes changed, cut short, or with bytes appended. */
  const mutated = (pool: () => readonly FuzzFile[]) =>
    fc
      .tuple(
        fc.nat(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
        fc.option(fc.uint8Array({ maxLength: 64 })),
      )
      .map(([pick, flips, cut, tail]) => {
        const all = pool();
        const f = all[pick % all.length]!;
        let data = Buffer.from(f.data);
        for (const [at, byte] of flips) if (data.length) data[at % data.length] = byte;
        if (cut !== null) data = data.subarray(0, Math.floor(data.length * cut));
        if (tail !== null) data = Buffer.concat([data, Buffer.from(tail)]);
        return { ...f, data };
      });

  test('archives expand within the budget or are refused with a 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.constant(null).map(() => files.archives[0]!),
            mutated(() => files.archives),
            mutated(() => files.all),
          ),
          { minLength: 1, maxLength: 3 },
        ),
        async (batch) => {
          const started = performance.now();
          try {
            const images = await expandBatch(
              batch.map((f) => ({
                field: 'files',
                filename: f.name,
                mimetype: f.contentType,
                data: f.data,
              })),
              budget,
            );
            assert.ok(images.length <= budget.maxImages);
            const total = images.reduce((n, i) => n + i.data.length, 0);
            assert.ok(total <= budget.maxTotalBytes, `${total} bytes expanded`);
            for (const i of images) {
              assert.ok(i.data.length <= budget.maxEntryBytes);
              // Entry names never climb out of their archive.
              assert.ok(!i.filename.split('/').includes('..'), i.filename);
            }
          } catch (err) {
            assert.ok(err instanceof HttpError, `not a refusal: ${String(err)}`);
            assert.ok(err.status >= 400 && err.status < 500, `${err.status}`);
          }
          // A bomb is refused from its headers, not by inflating it.
          assert.ok(performance.now() - started < 5000, 'an archive took over 5 s');
        },
      ),
      params,
    );
  });

  test('image decoding gives a 224x224 RGB buffer or an ImageInputError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          mutated(() => files.images),
          mutated(() => files.broken),
          fc.uint8Array({ maxLength: 4096 }).map((b) => ({ data: Buffer.from(b) })),
        ),
        async (f) => {
          try {
            const rgb = await decodeRgb(f.data);
            assert.equal(rgb.length, DEFAULT_PREPROCESS.size * DEFAULT_PREPROCESS.size * 3);
          } catch (err) {
            assert.ok(err instanceof ImageInputError, `not an ImageInputError: ${String(err)}`);
            assert.ok([400, 413, 415].includes(err.httpStatus));
          }
        },
      ),
      params,
    );
  });
});

describe('the MQTT door of a running app', () => {
  let t: TestApp;
  let key: string;
  let topicBase: string;
  before(async () => {
    t = await startTestApp({ context: { runTasks: false } });
    const admin = await signedInUser(t, 'admin');
    const farm = await createFarm(t, admin, 'mqtt-fuzz');
    const unit = await createUnit(t, admin, farm);
    const sensor = await createDevice(t, admin, unit, 'sensor');
    key = sensor.api_key;
    topicBase = `aquaml/${farm}/${unit}/${sensor.id}`;
  });
  after(() => t?.close());

  test('messages from the broker are stored or dropped, never thrown', async () => {
    assert.ok(key);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constantFrom(...METRICS), hostileString),
        fc.oneof(
          hostileNumber.map(String),
          readingArb.map((v) => JSON.stringify(v) ?? ''),
          fc.string({ unit: 'binary', maxLength: 200 }),
        ),
        fc.boolean(),
        async (metric, payload, ownTopic) => {
          const topic = ownTopic ? `${topicBase}/${metric}` : `aquaml/${metric}/x/y/z`;
          await t.ctx.telemetry.mqtt.fromBroker(topic, Buffer.from(payload, 'utf8'));
        },
      ),
      params,
    );
    assertPrototypeClean();
  });
});
