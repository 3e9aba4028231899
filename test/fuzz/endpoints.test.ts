// Property-based fuzzing of every route in the app's own OpenAPI document (issue 15): random,
// boundary and hostile paths, queries and bodies, each sent with valid credentials for the route.
// Every answer must be a 2xx or a problem+json 4xx, never a 5xx or a crash; read-only routes and
// refused requests must leave the database as it was; nothing may reach Object.prototype.
// FUZZ_RUNS (default 1000) sets the cases per route; FUZZ_SEED replays a run.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { createDevice, createFarm, createUnit } from '../farms/helpers.ts';
import {
  PASSWORD,
  signedInUser,
  startTestApp,
  type TestApp,
  type TestUser,
  unique,
} from '../support/app.ts';
import { imageForm, noisePng } from '../support/images.ts';
import { shippedModelSkip } from '../support/models.ts';
import { fuzzFiles } from './support/files.ts';
import { announceSeed, assertPrototypeClean, FUZZ_RUNS, FUZZ_SEED } from './support/hostile.ts';
import {
  type GeneratedRequest,
  type Hints,
  invalidRequestArb,
  type OpenApiDocument,
  type Operation,
  operations,
  requestArb,
} from './support/openapi.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * Tables a refused request may still write, by design: the audit trail (failures are audited),
 * the per-account sign-in failure budget, and the last-use stamps of keys (a key that
 * authenticates is stamped before the route looks at the body). And the alerts the rules engine
 * raises on its own schedule (a unit made by an earlier case whose sensor has gone quiet).
 */
const NOT_COMPARED = new Set([
  'audit_logs',
  'login_failures',
  'api_keys',
  'devices',
  'alerts',
  'alert_events',
]);

let t: TestApp;
let admin: TestUser;
let doc: OpenApiDocument;
let files: Awaited<ReturnType<typeof fuzzFiles>>;
/** Made once: a prediction, a task and an alert (the routes that touch them only change state). */
const shared: Record<'prediction' | 'task' | 'alert', string> = {
  prediction: randomUUID(),
  task: randomUUID(),
  alert: randomUUID(),
};
/** A session whose refresh token the auth routes may rotate, reuse and revoke. */
let spare: { refresh: string };
/** The user whose sessions the logout route ends (logging out without a token ends them all). */
let leaver: TestUser;

interface Fixtures {
  victim: { id: string; username: string };
  farm: string;
  unit: string;
  sensor: { id: string; api_key: string };
  camera: { id: string; api_key: string };
  log: string;
  apiKey: string;
}

async function makeFixtures(): Promise<Fixtures> {
  const username = unique('victim');
  const victim = await t.ctx.users.create({
    username,
    email: `${username}@example.org`,
    password: PASSWORD,
    role: 'operator',
  });
  const farm = await createFarm(t, admin, unique('farm'));
  const unit = await createUnit(t, admin, farm);
  const sensor = await createDevice(t, admin, unit, 'sensor');
  const camera = await createDevice(t, admin, unit, 'camera');
  const log = await t.app.inject({
    method: 'POST',
    url: `/api/v1/units/${unit}/logs`,
    headers: admin.headers,
    payload: { kind: 'feeding', feed_kg: 2.5, feed_type: 'pellets' },
  });
  assert.equal(log.statusCode, 201, log.body);
  const key = await t.app.inject({
    method: 'POST',
    url: '/api/v1/api-keys',
    headers: admin.headers,
    payload: { name: unique('key'), role: 'viewer' },
  });
  assert.equal(key.statusCode, 201, key.body);
  const threshold = await t.app.inject({
    method: 'PUT',
    url: `/api/v1/units/${unit}/thresholds/temperature`,
    headers: admin.headers,
    payload: { min: 20, max: 30 },
  });
  assert.ok(threshold.statusCode < 300, threshold.body);
  return {
    victim: { id: victim.id, username },
    farm,
    unit,
    sensor,
    camera,
    log: log.json().id,
    apiKey: key.json().id,
  };
}

function hintsFor(f: Fixtures): Hints {
  const byPath: [RegExp, string][] = [
    [/^\/api\/v1\/users\//, f.victim.id],
    [/^\/api\/v1\/farms\//, f.farm],
    [/^\/api\/v1\/units\//, f.unit],
    [/^\/api\/v1\/devices\//, f.sensor.id],
    [/^\/api\/v1\/api-keys\//, f.apiKey],
    [/^\/api\/v1\/predictions\//, shared.prediction],
    [/^\/api\/v1\/tasks\//, shared.task],
    [/^\/api\/v1\/alerts\//, shared.alert],
  ];
  const b64 = files.images.map((i) => i.data.toString('base64'));
  const byName: Record<string, readonly unknown[]> = {
    userId: [f.victim.id],
    user_id: [f.victim.id],
    logId: [f.log],
    unit_id: [f.unit],
    farm_id: [f.farm],
    device_id: [f.sensor.id, f.camera.id],
    metric: ['temperature', 'ph', 'dissolved_oxygen'],
    name: ['species', 'health', 'image'],
    model: ['species', 'species@1', 'species@champion', 'health'],
    version: [1, 2],
    base: ['1', 'champion'],
    code: ['nile-tilapia', 'rainbow-trout'],
    species: ['nile-tilapia'],
    label: ['nile-tilapia', 'unknown'],
    username: [f.victim.username, admin.username],
    login: [f.victim.username],
    password: [PASSWORD],
    refresh_token: [spare.refresh],
    datatype: ['BYTES'],
    data: [[b64[0]], b64.slice(0, 3)],
    shape: [[1], [3]],
  };
  return {
    known(name, path) {
      if (name === 'id') {
        const hit = byPath.find(([re]) => re.test(path));
        return hit ? [hit[1]] : [];
      }
      return byName[name] ?? [];
    },
    files: files.all,
  };
}

/** Row count and newest row version (xmin) per table: any insert, update or delete changes it. */
async function fingerprint(): Promise<Record<string, string>> {
  const listed = (await t.ctx.db.execute(
    sql`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`,
  )) as unknown as { rows: { tablename: string }[] };
  const tables = listed.rows.map((r) => r.tablename);
  const parts = tables
    .filter((name) => !NOT_COMPARED.has(name) && !name.startsWith('__'))
    .map(
      (name) =>
        `SELECT '${name}' AS t, count(*)::text || ':' || coalesce(max(xmin::text::bigint), 0)::text AS v FROM "${name}"`,
    );
  const result = (await t.ctx.db.execute(sql.raw(parts.join(' UNION ALL ')))) as unknown as {
    rows: { t: string; v: string }[];
  };
  return Object.fromEntries(result.rows.map((r) => [r.t, r.v]));
}

/** Background writers (prediction writer, telemetry coalescer) settle before a comparison. */
async function settledFingerprint(): Promise<Record<string, string>> {
  let last = await fingerprint();
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 25));
    const next = await fingerprint();
    if (JSON.stringify(next) === JSON.stringify(last)) return next;
    last = next;
  }
  return last;
}

function randomAddress(): string {
  const b = () => Math.floor(Math.random() * 254) + 1;
  return `10.${b()}.${b()}.${b()}`;
}

interface Outcome {
  status: number;
}

async function send(req: GeneratedRequest, stream: boolean): Promise<Outcome> {
  const res = await t.app.inject({
    method: req.method as 'GET',
    url: req.url,
    headers: req.headers,
    payload: req.payload,
    // Tests share one address; the per-address limit of /auth/* would only answer 429 here.
    remoteAddress: randomAddress(),
    payloadAsStream: stream,
  });
  const status = res.statusCode;
  let body = '';
  if (stream) {
    const s = res.stream();
    if (status === 200) {
      s.destroy();
    } else {
      for await (const chunk of s) body += String(chunk);
    }
  } else {
    body = res.body;
  }
  const where = `${req.description} -> ${status} ${body.slice(0, 300)}`;
  assert.ok(status >= 200 && status < 500, `not a 2xx or 4xx: ${where}`);
  assert.ok(status < 300 || status >= 400, `unexpected ${status}: ${where}`);
  if (status >= 400) {
    const parsed = JSON.parse(body) as { status?: number; error?: unknown };
    if (req.url.startsWith('/v2/') && typeof parsed.error === 'string') {
      // The Open Inference Protocol's routes answer errors as {"error": "<message>"} (the router's
      // own refusals, before any route, are problem+json like the rest).
    } else {
      assert.match(String(res.headers['content-type']), /application\/problem\+json/, where);
      assert.equal(parsed.status, status, where);
    }
  }
  assert.ok(!body.includes(ROOT), `a server path in the answer: ${where}`);
  return { status };
}

async function credentialsFor(op: Operation, f: Fixtures): Promise<Record<string, string>> {
  if (op.auth === 'public') return {};
  if (op.auth === 'apiKey') {
    const key = /\/frames$/.test(op.path) ? f.camera.api_key : f.sensor.api_key;
    return { 'x-api-key': key };
  }
  if (op.path === '/api/v1/auth/logout') {
    // Logging out ends sessions: each case signs out a session of its own, of a user of its own.
    const token = await t.ctx.tokens.sign({
      sub: leaver.id,
      role: 'viewer',
      username: leaver.username,
      sid: randomUUID(),
    });
    return { authorization: `Bearer ${token}` };
  }
  return admin.headers;
}

const readOnly = (op: Operation) => op.method === 'GET' || op.method === 'HEAD';

before(async () => {
  announceSeed('endpoints');
  t = await startTestApp({
    serving: !shippedModelSkip,
    // Tasks stay queued: a fuzzed training request must not start hours of work.
    context: { runTasks: false },
    overrides: {
      // Login back-off and per-address limits are tested elsewhere; here they would only slow down.
      AQUAML_LOGIN_MAX_FAILURES: '1000',
    },
  });
  admin = await signedInUser(t, 'admin');
  const spareUser = await signedInUser(t, 'viewer');
  spare = { refresh: spareUser.refreshToken };
  leaver = await signedInUser(t, 'viewer');
  doc = (await t.app.inject('/docs/json')).json();
  files = await fuzzFiles();
  if (!shippedModelSkip) {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/predictions/classify',
      ...(() => {
        const form = imageForm(files.images[0]!.data);
        return { payload: form.payload, headers: { ...form.headers, ...admin.headers } };
      })(),
    });
    assert.equal(res.statusCode, 200, res.body);
    shared.prediction = res.json().prediction_id;
  }
  const task = await t.app.inject({
    method: 'POST',
    url: '/api/v1/tasks/purge',
    headers: admin.headers,
    payload: { older_than_days: 365 },
  });
  assert.equal(task.statusCode, 202, task.body);
  shared.task = task.json().id;
  // A critical water-quality alert: a reading far outside the unit's range.
  const f = await makeFixtures();
  const reading = await t.app.inject({
    method: 'POST',
    url: '/api/v1/telemetry',
    headers: { 'x-api-key': f.sensor.api_key },
    payload: { readings: [{ metric: 'temperature', value: 45 }] },
  });
  assert.ok(reading.statusCode < 300, reading.body);
  for (let i = 0; i < 100; i++) {
    const list = await t.app.inject({ url: '/api/v1/alerts', headers: admin.headers });
    const items = (list.json().items ?? []) as { id: string }[];
    if (items.length) {
      shared.alert = items[0]!.id;
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
});

after(async () => {
  await t?.close();
});

describe('every route of the OpenAPI document, fuzzed', () => {
  test('the document lists the routes', () => {
    const ops = operations(doc);
    assert.ok(ops.length >= 100, `${ops.length} operations`);
    process.stdout.write(`# fuzzing ${ops.length} operations\n`);
  });

  // Routes are only known once the app is up, so one test walks them all, with a subtest each.
  test('each route answers 2xx or a clear 4xx, and refusals change nothing', async (ctx) => {
    const started = performance.now();
    const timings: [string, number][] = [];
    let readOnlyFixtures: Fixtures | undefined;
    for (const op of operations(doc)) {
      await ctx.test(`${op.method} ${op.path}`, async () => {
        const t0 = performance.now();
        const fixtures = readOnly(op)
          ? (readOnlyFixtures ??= await makeFixtures())
          : await makeFixtures();
        const hints = hintsFor(fixtures);
        const before = readOnly(op) ? await settledFingerprint() : undefined;
        const statuses = new Map<number, number>();
        const creds = await credentialsFor(op, fixtures);
        await fc.assert(
          fc.asyncProperty(requestArb(op, doc, hints, creds), async (req) => {
            if (op.path === '/api/v1/auth/logout') {
              req.headers = { ...req.headers, ...(await credentialsFor(op, fixtures)) };
            }
            const { status } = await send(req, op.stream);
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
          }),
          { seed: FUZZ_SEED, numRuns: FUZZ_RUNS, endOnFailure: true },
        );
        assertPrototypeClean();
        if (before) {
          assert.deepEqual(await settledFingerprint(), before, 'a read-only route changed data');
        }
        // Requests that break the body schema: each refused, and the data as it was.
        const invalid = invalidRequestArb(op, doc, hints, creds);
        if (invalid) {
          const start = await settledFingerprint();
          await fc.assert(
            fc.asyncProperty(invalid, async (req) => {
              if (op.path === '/api/v1/auth/logout') {
                req.headers = { ...req.headers, ...(await credentialsFor(op, fixtures)) };
              }
              const { status } = await send(req, op.stream);
              assert.ok(status >= 400, `${req.description} was accepted (${status})`);
            }),
            { seed: FUZZ_SEED, numRuns: Math.max(1, Math.ceil(FUZZ_RUNS / 4)), endOnFailure: true },
          );
          assert.deepEqual(await settledFingerprint(), start, 'a refused request changed data');
        }
        assertPrototypeClean();
        const ms = performance.now() - t0;
        timings.push([`${op.method} ${op.path}`, ms]);
        process.stdout.write(
          `#   ${op.method} ${op.path}: ${Math.round(ms)} ms, statuses ${JSON.stringify(Object.fromEntries(statuses))}\n`,
        );
      });
    }
    const total = (performance.now() - started) / 1000;
    timings.sort((a, b) => b[1] - a[1]);
    process.stdout.write(
      `# fuzzed ${timings.length} operations in ${total.toFixed(1)} s; slowest: ${timings
        .slice(0, 5)
        .map(([n, ms]) => `${n} ${(ms / 1000).toFixed(1)} s`)
        .join(', ')}\n`,
    );
  });

  test('the process still serves after the fuzzing', async () => {
    const res = await t.app.inject({ url: '/health' });
    assert.equal(res.statusCode, 200);
    const me = await t.app.inject({ url: '/api/v1/auth/me', headers: admin.headers });
    assert.equal(me.statusCode, 200, me.body);
    const img = await noisePng(64, 48, 99);
    if (!shippedModelSkip) {
      const form = imageForm(img);
      const res2 = await t.app.inject({
        method: 'POST',
        url: '/api/v1/predictions/classify',
        payload: form.payload,
        headers: { ...form.headers, ...admin.headers },
      });
      assert.equal(res2.statusCode, 200, res2.body);
    }
  });
});
