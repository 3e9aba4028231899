// Soak (issue 15): mixed traffic (classify, prediction history, telemetry, alerts, dashboard API)
// against one `aquaml serve` on loopback, for a bounded time, at a set fraction of the capacity a
// short probe measured first. Reports, per window, throughput, error rate (5xx and transport
// errors; 429s are counted apart) and latency percentiles, and the server's RSS over time.
// Run: npm run bench -- soak [--minutes 5] [--fraction 0.5] [--probe-seconds 20]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { imageForm, noisePng } from '../test/support/images.ts';
import { startServer } from './support/server.ts';

const { values: args } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== 'soak'),
  options: {
    minutes: { type: 'string', default: process.env.SOAK_MINUTES ?? '5' },
    fraction: { type: 'string', default: process.env.SOAK_FRACTION ?? '0.5' },
    'probe-seconds': { type: 'string', default: '20' },
    'window-seconds': { type: 'string' },
    concurrency: { type: 'string', default: '8' },
  },
  strict: true,
});
const minutes = Number(args.minutes);
const fraction = Number(args.fraction);
const probeSeconds = Number(args['probe-seconds']);
const windowSeconds = Number(
  args['window-seconds'] ?? Math.max(10, Math.round((minutes * 60) / 10)),
);
const probeConcurrency = Number(args.concurrency);
if (!(minutes > 0 && minutes <= 24 * 60) || !(fraction > 0 && fraction <= 1)) {
  console.error('--minutes must be in (0, 1440] and --fraction in (0, 1]');
  process.exit(2);
}
/** Requests in flight beyond this count as refused by the generator (the server fell behind). */
const MAX_IN_FLIGHT = 512;

const PASSWORD = 'Tilapia-Pond-4821';
const dataDir = mkdtempSync(join(tmpdir(), 'aquaml-soak-'));
const env = {
  AQUAML_DATA_DIR: dataDir,
  // One bench user sends all the traffic: the per-user limit (100/min) would answer nearly all
  // of it with 429. 429s are still counted and reported apart.
  AQUAML_RATE_LIMIT_MAX: '10000000',
  AQUAML_RATE_LIMIT_API_KEY_MAX: '10000000',
  // Cameras never send the same frame twice: every classification runs the model.
  AQUAML_PREDICTION_CACHE: 'false',
  AQUAML_ADMIN_USERNAME: 'soakadmin',
  AQUAML_ADMIN_EMAIL: 'soak@example.org',
  AQUAML_ADMIN_PASSWORD: PASSWORD,
  LOG_LEVEL: 'warn',
};

type Kind = 'classify' | 'history' | 'telemetry' | 'alerts' | 'dashboard';
/** Share of each kind in the mix (a farm: sensors report often, cameras and people less). */
const MIX: [Kind, number][] = [
  ['telemetry', 0.35],
  ['classify', 0.15],
  ['history', 0.15],
  ['alerts', 0.1],
  ['dashboard', 0.25],
];

interface Sample {
  at: number;
  kind: Kind;
  /** The request line, kept for answers other than 2xx. */
  what?: string;
  status: number;
  ms: number;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  ]!;
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

const server = await startServer(env, { waitFor: '/ready' });
try {
  const url = server.url;
  const json = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(url + path, init);
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, unknown>>;
  };
  const login = await json('/api/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'soakadmin', password: PASSWORD }),
  });
  const auth = { authorization: `Bearer ${login.access_token as string}` };
  const post = (path: string, body: unknown) =>
    json(path, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const farm = await post('/api/v1/farms', { name: 'Soak farm' });
  const unit = await post(`/api/v1/farms/${farm.id as string}/units`, {
    name: 'tank-1',
    kind: 'tank',
    species: 'nile-tilapia',
  });
  const sensors = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      post(`/api/v1/units/${unit.id as string}/devices`, { name: `probe-${i}`, kind: 'sensor' }),
    ),
  );
  // A pool of different images (sizes vary, so decoding does too).
  const images = await Promise.all(
    Array.from({ length: 200 }, (_, i) => noisePng(96 + (i % 5) * 16, 72, 50_000 + i)),
  );
  const dashboardPaths = [
    '/api/v1/farms',
    `/api/v1/units/${unit.id as string}/kpis?from=${new Date(Date.now() - 30 * 86_400_000).toISOString()}`,
    '/api/v1/models/active',
    '/api/v1/predictions/stats',
    `/api/v1/units/${unit.id as string}/readings?metric=temperature`,
  ];

  let n = 0;
  const pick = (): Kind => {
    let r = Math.random();
    for (const [kind, share] of MIX) {
      if ((r -= share) < 0) return kind;
    }
    return 'dashboard';
  };
  /** Sends one request of the kind; answers its status and what was asked. */
  async function one(kind: Kind): Promise<{ status: number; what: string }> {
    const i = n++;
    switch (kind) {
      case 'classify': {
        const form = imageForm(images[i % images.length]!);
        const res = await fetch(`${url}/api/v1/predictions/classify`, {
          method: 'POST',
          headers: { ...auth, ...form.headers },
          body: form.payload,
        });
        await res.arrayBuffer();
        return { status: res.status, what: 'POST /api/v1/predictions/classify' };
      }
      case 'telemetry': {
        const now = Date.now();
        const res = await fetch(`${url}/api/v1/telemetry`, {
          method: 'POST',
          headers: {
            'x-api-key': sensors[i % sensors.length]!.api_key as string,
            'content-type': 'application/json',
          },
          body: JSON.stringify({
            readings: [
              {
                metric: 'temperature',
                value: 26 + Math.sin(i / 50),
                ts: new Date(now).toISOString(),
              },
              { metric: 'ph', value: 7.2, ts: new Date(now).toISOString() },
              { metric: 'dissolved_oxygen', value: 6.5, ts: new Date(now).toISOString() },
            ],
          }),
        });
        await res.arrayBuffer();
        return { status: res.status, what: 'POST /api/v1/telemetry' };
      }
      case 'history':
      case 'alerts':
      case 'dashboard': {
        const path =
          kind === 'history'
            ? '/api/v1/predictions/history?limit=20'
            : kind === 'alerts'
              ? '/api/v1/alerts?limit=20'
              : dashboardPaths[i % dashboardPaths.length]!;
        const res = await fetch(url + path, { headers: auth });
        await res.arrayBuffer();
        return { status: res.status, what: `GET ${path}` };
      }
    }
  }
  async function timed(kind: Kind, into: Sample[]): Promise<void> {
    const started = performance.now();
    let status: number;
    let what: string = kind;
    try {
      ({ status, what } = await one(kind));
    } catch {
      status = 0; // transport error
    }
    const ms = performance.now() - started;
    into.push({
      at: Date.now(),
      kind,
      status,
      ms,
      ...(status < 200 || status >= 300 ? { what } : {}),
    });
  }

  // 1. Capacity: closed loop, `concurrency` clients as fast as the server answers.
  const probe: Sample[] = [];
  const probeEnd = Date.now() + probeSeconds * 1000;
  await Promise.all(
    Array.from({ length: probeConcurrency }, async () => {
      while (Date.now() < probeEnd) await timed(pick(), probe);
    }),
  );
  const capacity = probe.filter((s) => s.status >= 200 && s.status < 300).length / probeSeconds;
  const rate = capacity * fraction;
  console.log(
    `capacity probe: ${round(capacity)} req/s of the mix (${probeConcurrency} clients, ${probeSeconds} s); soak at ${Math.round(fraction * 100)} %: ${round(rate)} req/s for ${minutes} min`,
  );

  // 2. Soak: open loop at the target rate, so a slow server shows as latency, not fewer requests.
  const samples: Sample[] = [];
  const rss: { at: number; mb: number }[] = [];
  const started = Date.now();
  const end = started + minutes * 60_000;
  let inFlight = 0;
  let refused = 0;
  let sent = 0;
  const pending = new Set<Promise<void>>();
  const rssTimer = setInterval(() => rss.push({ at: Date.now(), mb: server.rssMb() }), 5_000);
  rss.push({ at: started, mb: server.rssMb() });
  while (Date.now() < end) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate);
    while (sent < due) {
      sent++;
      if (inFlight >= MAX_IN_FLIGHT) {
        refused++;
        continue;
      }
      inFlight++;
      const p = timed(pick(), samples).finally(() => {
        inFlight--;
        pending.delete(p);
      });
      pending.add(p);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(pending);
  clearInterval(rssTimer);
  rss.push({ at: Date.now(), mb: server.rssMb() });

  // 3. Report per window.
  const rows = [];
  for (let w = 0; w * windowSeconds * 1000 < end - started; w++) {
    const from = started + w * windowSeconds * 1000;
    const to = Math.min(end, from + windowSeconds * 1000);
    const inWindow = samples.filter((s) => s.at >= from && s.at < to + 1);
    const lat = inWindow.map((s) => s.ms).sort((a, b) => a - b);
    const errors = inWindow.filter((s) => s.status === 0 || s.status >= 500).length;
    const limited = inWindow.filter((s) => s.status === 429).length;
    const rssIn = rss.filter((r) => r.at >= from && r.at <= to).map((r) => r.mb);
    rows.push({
      't (s)': `${Math.round((from - started) / 1000)}-${Math.round((to - started) / 1000)}`,
      'req/s': round(inWindow.length / ((to - from) / 1000)),
      errors,
      'error %': round((100 * errors) / Math.max(1, inWindow.length), 2),
      '429': limited,
      'p50 ms': round(percentile(lat, 50)),
      'p95 ms': round(percentile(lat, 95)),
      'p99 ms': round(percentile(lat, 99)),
      'RSS MiB': rssIn.length ? round(Math.max(...rssIn)) : NaN,
    });
  }
  console.table(rows);
  const byKind = MIX.map(([kind]) => {
    const lat = samples
      .filter((s) => s.kind === kind)
      .map((s) => s.ms)
      .sort((a, b) => a - b);
    return {
      kind,
      requests: lat.length,
      'p50 ms': round(percentile(lat, 50)),
      'p95 ms': round(percentile(lat, 95)),
      'p99 ms': round(percentile(lat, 99)),
    };
  });
  console.table(byKind);
  const errors = samples.filter((s) => s.status === 0 || s.status >= 500);
  const other4xx = samples.filter((s) => s.status >= 400 && s.status < 500 && s.status !== 429);
  const afterMinute = rss.find((r) => r.at >= started + 60_000) ?? rss[0]!;
  const last = rss.at(-1)!;
  const statuses: Record<number, number> = {};
  for (const s of samples) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
  const notOk: Record<string, number> = {};
  for (const s of samples) {
    if (s.what) notOk[`${s.status} ${s.what}`] = (notOk[`${s.status} ${s.what}`] ?? 0) + 1;
  }
  if (Object.keys(notOk).length) console.log('answers other than 2xx:', notOk);
  console.log(
    [
      `requests ${samples.length} (${round(samples.length / ((end - started) / 1000))} req/s), statuses ${JSON.stringify(statuses)}`,
      `errors (5xx and transport) ${errors.length} (${round((100 * errors.length) / Math.max(1, samples.length), 3)} %), 429 ${samples.filter((s) => s.status === 429).length}, other 4xx ${other4xx.length}, not sent (over ${MAX_IN_FLIGHT} in flight) ${refused}`,
      `RSS: start ${round(rss[0]!.mb)} MiB, after 1 min ${round(afterMinute.mb)} MiB, end ${round(last.mb)} MiB, growth after the first minute ${round((100 * (last.mb - afterMinute.mb)) / afterMinute.mb)} %`,
      '(load generator and server share the machine; loopback only)',
    ].join('\n'),
  );
  if (errors.length) process.exitCode = 1;
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
