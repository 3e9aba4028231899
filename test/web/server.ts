import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

export interface RunningApi {
  url: string;
  admin: { username: string; password: string };
  log: () => string;
  stop: () => Promise<void>;
}

/** `aquaml serve` as a user starts it (embedded defaults), on free ports and a temporary data dir. */
export async function startApi(extraEnv: Record<string, string> = {}): Promise<RunningApi> {
  const dataDir = mkdtempSync(join(tmpdir(), 'aquaml-web-'));
  const port = await freePort();
  const admin = { username: 'admin', password: 'dashboard-e2e-Secret-42' };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(port),
    MQTT_PORT: String(await freePort()),
    AQUAML_DATA_DIR: dataDir,
    AQUAML_ADMIN_USERNAME: admin.username,
    AQUAML_ADMIN_EMAIL: 'ops@example.org',
    AQUAML_ADMIN_PASSWORD: admin.password,
    // The test clicks through every page far faster than a person: lift the per-user budget.
    RATE_LIMIT_MAX: '100000',
    LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  // The embedded defaults: no external services.
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  delete env.MQTT_URL;
  let output = '';
  const child: ChildProcess = spawn(process.execPath, ['bin/aquaml.js', 'serve'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((ok) => setTimeout(ok, 15_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`aquaml serve exited:\n${output}`);
    const ready = await fetch(`${url}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return { url, admin, log: () => output, stop };
    await new Promise((ok) => setTimeout(ok, 500));
  }
  await stop();
  throw new Error(`aquaml serve was not ready within 180 s:\n${output}`);
}
