// Platform benchmark (issue 2): cold and warm start-up, memory at idle, and loopback throughput of
// GET /health and GET /api/v1/auth/me. Run: npm run bench -- platform
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, printTable } from './support/load.ts';
import { startServer } from './support/server.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const dataDir = mkdtempSync(join(tmpdir(), 'aquaml-bench-'));
const env = {
  AQUAML_DATA_DIR: dataDir,
  AQUAML_RATE_LIMIT_MAX: '10000000',
  AQUAML_ADMIN_USERNAME: 'benchadmin',
  AQUAML_ADMIN_EMAIL: 'bench@example.org',
  AQUAML_ADMIN_PASSWORD: 'Tilapia-Pond-4821',
};

try {
  const cold = await startServer(env);
  const coldMs = cold.startupMs;
  await cold.stop();
  const warm = await startServer(env);
  console.log(
    `start-up to /health: cold (new data dir) ${Math.round(coldMs)} ms, warm ${Math.round(warm.startupMs)} ms`,
  );
  await new Promise((r) => setTimeout(r, 5_000));
  console.log(`memory at idle (RSS, 5 s after start): ${warm.rssMb().toFixed(1)} MiB`);

  const login = await fetch(`${warm.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'benchadmin', password: 'Tilapia-Pond-4821' }),
  });
  const { access_token } = (await login.json()) as { access_token: string };
  const rows = [];
  for (const connections of [1, 32]) {
    rows.push(
      await load('GET /health', { url: `${warm.url}/health`, connections, duration: seconds }),
    );
    rows.push(
      await load('GET /api/v1/auth/me', {
        url: `${warm.url}/api/v1/auth/me`,
        connections,
        duration: seconds,
        headers: { authorization: `Bearer ${access_token}` },
      }),
    );
  }
  printTable(rows);
  console.log(`memory after load (RSS): ${warm.rssMb().toFixed(1)} MiB`);
  console.log('(load generator and server share the same 2 cores)');
  await warm.stop();
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
