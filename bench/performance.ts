// GET /api/v1/metrics/performance against the client's own measurement (issue 12): classify load at
// concurrency 1, 4 and 16; after each run the server's window percentiles are printed next to the
// latencies the load generator measured per response, with the relative difference (target: within
// 10 %). Run: npm run bench -- performance   (BENCH_SECONDS per run, default 10; cache off)
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type autocannon from 'autocannon';
import { load } from './support/load.ts';
import { imageUploads } from './support/multipart.ts';
import { ROOT, startServer } from './support/server.ts';
import { wrkAvailable, wrkLoad } from './support/wrk-load.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const datasets = process.env.AQUAML_DATASETS_DIR ?? join(ROOT, '..', 'shared', 'data');
const valDir = join(datasets, 'fish-species', 'val');
if (!existsSync(valDir)) {
  console.log(`skipped: no fish images at ${valDir} (set AQUAML_DATASETS_DIR)`);
  process.exit(0);
}
const images = readdirSync(valDir).flatMap((c) =>
  readdirSync(join(valDir, c)).map((f) => ({ name: f, data: readFileSync(join(valDir, c, f)) })),
);

const dataDir = mkdtempSync(join(tmpdir(), 'aquaml-bench-perf-'));
const password = `Tilapia-Pond-${randomBytes(6).toString('hex')}`;
const server = await startServer(
  {
    AQUAML_DATA_DIR: dataDir,
    AQUAML_PREDICTION_CACHE: 'false',
    RATE_LIMIT_MAX: '10000000',
    AQUAML_ADMIN_USERNAME: 'benchadmin',
    AQUAML_ADMIN_EMAIL: 'ops@example.org',
    AQUAML_ADMIN_PASSWORD: password,
  },
  { waitFor: '/ready' },
);
try {
  const login = await fetch(`${server.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'benchadmin', password }),
  });
  const { access_token } = (await login.json()) as { access_token: string };
  const auth = { authorization: `Bearer ${access_token}` };
  const { bodies, contentType } = imageUploads(images);
  const url = `${server.url}/api/v1/predictions/classify?health=false`;
  const headers = { ...auth, 'content-type': contentType };
  const useWrk = wrkAvailable();
  if (!useWrk) console.log('wrk is not installed (Debian: apt-get install wrk): autocannon only');
  let next = 0;
  const rows: Record<string, string | number | undefined>[] = [];
  // One client's run at one concurrency, between a reset of the server's window and its read.
  const measure = async (
    client: string,
    conc: number,
    run: () => Promise<{ rps: number; requests: number; p50: number; p95: number; p99: number }>,
  ) => {
    const reset = await fetch(`${server.url}/api/v1/metrics/performance/reset`, {
      method: 'POST',
      headers: auth,
    });
    if (!reset.ok) throw new Error(`reset: ${reset.status} ${await reset.text()}`);
    const c = await run();
    const perf = (await (
      await fetch(`${server.url}/api/v1/metrics/performance`, { headers: auth })
    ).json()) as Record<string, number>;
    const diff = (s: number, m: number) => `${(((s - m) / m) * 100).toFixed(1)} %`;
    rows.push({
      client,
      conc,
      'client req/s': Math.round(c.rps),
      'server req/s': Math.round(perf.throughput_rps!),
      requests: `${c.requests} / ${perf.total_requests! - 1}`,
      'client p50': c.p50,
      'server p50': perf.latency_p50_ms,
      'Δ p50': diff(perf.latency_p50_ms!, c.p50),
      'client p95': c.p95,
      'server p95': perf.latency_p95_ms,
      'Δ p95': diff(perf.latency_p95_ms!, c.p95),
      'client p99': c.p99,
      'server p99': perf.latency_p99_ms,
      'Δ p99': diff(perf.latency_p99_ms!, c.p99),
      'server errors': perf.error_rate,
    });
  };
  for (const connections of [1, 4, 16]) {
    const opts: autocannon.Options & { url: string } = {
      url,
      method: 'POST',
      connections,
      headers,
      requests: [
        {
          setupRequest: (req: autocannon.Request) => ({
            ...req,
            body: bodies[next++ % bodies.length],
          }),
        },
      ],
    };
    await load('warm-up', { ...opts, duration: 2 });
    await measure('autocannon', connections, () =>
      load('classify', { ...opts, duration: seconds }),
    );
    if (useWrk) {
      await measure('wrk', connections, () =>
        wrkLoad({ url, method: 'POST', headers, bodies, connections, seconds }),
      );
    }
  }
  console.table(rows);
  console.log(
    'ms; client = the load generator per response on loopback (autocannon: Node, in this process; wrk: C, one thread, when installed), server = GET /api/v1/metrics/performance (Fastify reply time, same requests; "requests": client / server minus the reset call). Load generator and server share the cores.',
  );
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
