// Telemetry ingest benchmark (issue 10): sustained readings stored per second end to end, from
// HTTP batches and from MQTT (one reading per QoS 1 message), on PGlite and on PostgreSQL, and the
// p99 time from a reading's arrival to its alert reaching a client (SSE) under that load.
// Run: npm run bench -- ingest   (BENCH_SECONDS per phase, default 10; BENCH_PG_URL to override
// the PostgreSQL server, default postgres://root@127.0.0.1:5432/test; BENCH_DBS=pglite,postgres).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import pg from 'pg';
import { freePort, startServer } from './support/server.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const HTTP_CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 8);
const MQTT_CLIENTS = Number(process.env.BENCH_MQTT_CLIENTS ?? 20);
const MQTT_IN_FLIGHT = Number(process.env.BENCH_MQTT_IN_FLIGHT ?? 100);
const DEVICES = 20;
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';
const DBS = (process.env.BENCH_DBS ?? 'pglite,postgres').split(',');
const ADMIN = { username: 'benchadmin', password: 'Tilapia-Pond-4821' };

interface Device {
  id: string;
  api_key: string;
  unit: string;
}

async function api(url: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(url + path, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<Record<string, string>>;
}

async function storedCount(db: pg.Client | undefined, url: string, token: string, units: string[]) {
  if (db) {
    // The load sends temperature only; the alert probe's oxygen readings are not counted.
    const r = await db.query(
      `select count(*)::int as n from readings where metric = 'temperature'`,
    );
    return r.rows[0].n as number;
  }
  // PGlite lives in the server process: read the stored counter from /metrics (it includes the
  // alert probe's few readings: one every 200 ms).
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  const m = /^aquaml_telemetry_readings_stored_total (\d+(?:\.\d+)?(?:e\+\d+)?)/m.exec(text);
  void units;
  return m ? Number(m[1]) : 0;
}

/** Waits until the stored count stops growing or reaches `target`; returns when it did. */
async function settle(
  count: () => Promise<number>,
  target: number,
): Promise<{ n: number; at: number }> {
  let last = -1;
  let stableSince = Date.now();
  for (;;) {
    const n = await count();
    if (n >= target) return { n, at: Date.now() };
    if (n !== last) {
      last = n;
      stableSince = Date.now();
    } else if (Date.now() - stableSince > 3_000) return { n, at: stableSince };
    await new Promise((r) => setTimeout(r, 50));
  }
}

let tsCounter = 0;
/** Unique timestamps in the past, so nothing is a duplicate or refused as future. */
const nextTs = (base: number) => new Date(base + tsCounter++).toISOString();

async function httpPhase(url: string, devices: Device[], base: number): Promise<number> {
  const end = Date.now() + seconds * 1000;
  let sent = 0;
  await Promise.all(
    Array.from({ length: HTTP_CONNECTIONS }, async (_, c) => {
      let i = c;
      while (Date.now() < end) {
        const d = devices[i++ % devices.length]!;
        const readings = Array.from({ length: BATCH }, () => ({
          metric: 'temperature',
          value: 20 + Math.random() * 5,
          ts: nextTs(base),
        }));
        const res = await fetch(`${url}/api/v1/telemetry`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': d.api_key },
          body: JSON.stringify({ readings }),
        });
        const body = (await res.json()) as { accepted: number };
        if (!res.ok) throw new Error(`telemetry: ${res.status} ${JSON.stringify(body)}`);
        sent += body.accepted;
      }
    }),
  );
  return sent;
}

async function mqttPhase(mqttUrl: string, farm: string, devices: Device[], base: number) {
  const clients: { c: MqttClient; d: Device }[] = [];
  for (let i = 0; i < MQTT_CLIENTS; i++) {
    const d = devices[i % devices.length]!;
    clients.push({ c: await connectAsync(mqttUrl, { username: d.id, password: d.api_key }), d });
  }
  const end = Date.now() + seconds * 1000;
  let sent = 0;
  await Promise.all(
    clients.map(async ({ c, d }) => {
      const topic = `aquaml/${farm}/${d.unit}/${d.id}/temperature`;
      const inflight = new Set<Promise<unknown>>();
      while (Date.now() < end) {
        const p = c
          .publishAsync(topic, JSON.stringify({ value: 22.5, ts: nextTs(base) }), { qos: 1 })
          .then(() => {
            sent++;
            inflight.delete(p);
          });
        inflight.add(p);
        if (inflight.size >= MQTT_IN_FLIGHT) await Promise.race(inflight);
      }
      await Promise.all(inflight);
    }),
  );
  await Promise.all(clients.map(({ c }) => c.endAsync()));
  return sent;
}

/**
 * Alert latency probe: one unit's oxygen alternates between 1 mg/L (opens a critical alert) and
 * 8 mg/L (resolves it), one reading every 200 ms, while the load runs; each "opened" event on the
 * SSE stream is matched to the probe reading that tripped it.
 */
async function alertProbe(url: string, token: string, probe: Device, stop: () => boolean) {
  const latencies: number[] = [];
  const sentAt = new Map<string, number>();
  const abort = new AbortController();
  const res = await fetch(`${url}/api/v1/alerts/stream`, {
    headers: { authorization: `Bearer ${token}` },
    signal: abort.signal,
  });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const reading = (async () => {
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += decoder.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (!frame.startsWith('event: opened')) continue;
          const alert = JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as {
            opened_at: string;
            unit_id: string;
          };
          const t0 = sentAt.get(alert.opened_at);
          if (alert.unit_id === probe.unit && t0) latencies.push(performance.now() - t0);
        }
      }
    } catch {
      // aborted
    }
  })();
  let low = true;
  let base = Date.now() - 3_600_000;
  while (!stop()) {
    const ts = new Date(base++).toISOString();
    const t0 = performance.now();
    if (low) sentAt.set(ts, t0);
    await fetch(`${url}/api/v1/telemetry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': probe.api_key },
      body: JSON.stringify({ readings: [{ metric: 'dissolved_oxygen', value: low ? 1 : 8, ts }] }),
    });
    low = !low;
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 1_000));
  abort.abort();
  await reading;
  return latencies;
}

const p99 = (xs: number[]) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)]!;
};

async function runOn(kind: string) {
  const dataDir = mkdtempSync(join(tmpdir(), 'aquaml-bench-ingest-'));
  let dbName: string | undefined;
  let admin: pg.Client | undefined;
  const env: Record<string, string> = {
    AQUAML_DATA_DIR: dataDir,
    RATE_LIMIT_MAX: '10000000',
    RATE_LIMIT_API_KEY_MAX: '10000000',
    AQUAML_ADMIN_USERNAME: ADMIN.username,
    AQUAML_ADMIN_EMAIL: 'bench@example.org',
    AQUAML_ADMIN_PASSWORD: ADMIN.password,
    MQTT_PORT: String(await freePort()),
    MQTT_HOST: '127.0.0.1',
    MQTT_URL: '',
    REDIS_URL: '',
    AQUAML_RULE_MIN_DURATION_MS: '0',
    LOG_LEVEL: 'error',
    AQUAML_TELEMETRY_MAX_BATCH: String(Math.max(BATCH, 10_000)),
  };
  if (kind === 'postgres') {
    dbName = `bench_ingest_${process.pid}`;
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    const u = new URL(PG_URL);
    u.pathname = `/${dbName}`;
    env.DATABASE_URL = u.toString();
  } else env.DATABASE_URL = '';
  const server = await startServer(env);
  let db: pg.Client | undefined;
  try {
    if (env.DATABASE_URL) {
      db = new pg.Client({ connectionString: env.DATABASE_URL });
      await db.connect();
    }
    const login = await fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    const { access_token: token } = (await login.json()) as { access_token: string };
    const farm = (await api(server.url, token, 'POST', '/api/v1/farms', { name: 'Bench' })).id!;
    const devices: Device[] = [];
    for (let i = 0; i <= DEVICES; i++) {
      const unit = (
        await api(server.url, token, 'POST', `/api/v1/farms/${farm}/units`, {
          name: `tank-${i}`,
          kind: 'tank',
          species: 'nile-tilapia',
        })
      ).id!;
      const d = await api(server.url, token, 'POST', `/api/v1/units/${unit}/devices`, {
        name: 'bench',
        kind: 'sensor',
      });
      devices.push({ id: d.id!, api_key: d.api_key!, unit });
    }
    const probe = devices.pop()!;
    const count = () =>
      storedCount(
        db,
        server.url,
        token,
        devices.map((d) => d.unit),
      );
    const results: string[] = [];
    const allLatencies: number[] = [];

    for (const door of ['http', 'mqtt'] as const) {
      const before = await count();
      const base = Date.now() - 3 * 3_600_000 - (door === 'mqtt' ? 0 : 3_600_000);
      let loadDone = false;
      const probing = alertProbe(server.url, token, probe, () => loadDone);
      const t0 = Date.now();
      const sent =
        door === 'http'
          ? await httpPhase(server.url, devices, base)
          : await mqttPhase(`mqtt://127.0.0.1:${env.MQTT_PORT}`, farm, devices, base);
      const { n, at } = await settle(count, before + sent);
      loadDone = true;
      allLatencies.push(...(await probing));
      const stored = n - before;
      const rate = stored / ((at - t0) / 1000);
      const lat = await probing;
      results.push(
        `${kind.padEnd(8)} ${door.padEnd(4)} sent ${String(sent).padStart(8)}  stored ${String(stored).padStart(8)}  ${Math.round(rate).toString().padStart(7)} readings/s stored end to end  alert p99 ${p99(lat).toFixed(0)} ms (${lat.length} alerts)`,
      );
    }
    for (const line of results) console.log(line);
  } finally {
    await db?.end();
    await server.stop();
    if (admin && dbName) {
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

console.log(
  `ingest: ${seconds} s per phase; HTTP ${HTTP_CONNECTIONS} connections x ${BATCH} readings a request; MQTT ${MQTT_CLIENTS} clients, QoS 1, one reading a message, ${MQTT_IN_FLIGHT} in flight each; ${DEVICES} devices`,
);
for (const kind of DBS) await runOn(kind);
console.log('(load generator, server and database share the same 2 cores)');
