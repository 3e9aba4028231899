// Disposable service instances for the fault tests: each test starts its own Redis, Mosquitto or
// PostgreSQL on a free loopback port under a temporary folder, stops and restarts it at will, and
// removes it afterwards. The machine's shared services (5432, 6379, 1883) are never touched.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../bench/support/server.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');

function which(bin: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once something accepts TCP connections on the port (or rejects after `timeoutMs`). */
export async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface Disposable {
  port: number;
  url: string;
  /** Stops the service hard (SIGKILL): no clean shutdown, as in a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port (and data folder). */
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  dispose(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => child.once('exit', () => r()));
}

/**
 * A service run as one child process on `port`, its files in `dir`: started now, and again on
 * each `start()`; killed hard on `kill()`; removed with its files on `dispose()`.
 */
async function childService(
  port: number,
  url: string,
  dir: string,
  spawnChild: () => ChildProcess,
): Promise<Disposable> {
  let child: ChildProcess | undefined;
  const kill = async () => {
    if (!child) return;
    child.kill('SIGKILL');
    await exited(child);
  };
  const start = async () => {
    child = spawnChild();
    await waitForPort(port);
  };
  await start();
  return {
    port,
    url,
    start,
    kill,
    async dispose() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A reason to skip, or undefined when redis-server is installed. */
export const redisSkip = which('redis-server') ? false : 'redis-server is not installed';

export async function startRedis(): Promise<Disposable> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'aquaml-redis-'));
  return childService(port, `redis://127.0.0.1:${port}`, dir, () =>
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    ),
  );
}

export const mosquittoSkip = which('mosquitto') ? false : 'mosquitto is not installed';

export interface DisposableBroker extends Disposable {
  /**
   * Resolves after the broker next writes its persistence file. Mosquitto saves every couple of
   * seconds, not on each change, so a crash loses what came since the last save (a session
   * created a moment ago included): a test that kills it waits for this first.
   */
  saved(timeoutMs?: number): Promise<void>;
}

export async function startMosquitto(): Promise<DisposableBroker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'aquaml-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  // Persistence on: a persistent session's queued QoS 1 messages survive the broker's restart.
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${dir}/`,
      'autosave_interval 1',
      'log_dest none',
      '',
    ].join('\n'),
  );
  // mosquitto drops root privileges to its own user, which must be able to write the folder.
  spawnSync('chown', ['-R', 'mosquitto', dir]);
  const service = await childService(port, `mqtt://127.0.0.1:${port}`, dir, () =>
    spawn('mosquitto', ['-c', conf], { stdio: 'ignore' }),
  );
  const db = join(dir, 'mosquitto.db');
  const savedAt = () => (existsSync(db) ? statSync(db).mtimeMs : 0);
  return {
    ...service,
    async saved(timeoutMs = 10_000) {
      const since = Date.now();
      await waitUntil('mosquitto to save its database', () => savedAt() > since, timeoutMs, 50);
    },
  };
}

function postgresBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const bin = join(base, v, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))) return bin;
  }
  return undefined;
}

/**
 * Why a disposable PostgreSQL cannot be made here, or false. PostgreSQL refuses to run as root,
 * so as root the cluster runs as the `postgres` user through runuser.
 */
export const postgresSkip: string | false = (() => {
  if (!postgresBin())
    return 'no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql';
  if (process.getuid?.() === 0) {
    if (!which('runuser')) return 'running as root without runuser, and PostgreSQL refuses root';
    const ok = spawnSync('runuser', ['-u', 'postgres', '--', 'true']);
    if (ok.status !== 0)
      return 'running as root and the postgres user cannot be used (runuser -u postgres failed)';
  }
  return false;
})();

export async function startPostgres(): Promise<Disposable> {
  const bin = postgresBin()!;
  const port = await freePort();
  // Under the repository's tmp/: the postgres user must reach it, and /tmp may be private.
  mkdirSync(join(ROOT, 'tmp'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'tmp', 'pg-fault-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) => {
    const full = asRoot ? ['-u', 'postgres', '--', cmd, ...args] : args;
    const r = spawnSync(asRoot ? 'runuser' : cmd, full, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout}`);
    return r;
  };
  if (asRoot) {
    chmodSync(dir, 0o755);
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, uid, gid);
  }
  run(join(bin, 'initdb'), [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'postgres',
    '--no-sync',
    '-E',
    'UTF8',
  ]);
  const start = async () => {
    run(join(bin, 'pg_ctl'), [
      '-D',
      data,
      '-l',
      join(dir, 'log'),
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      '-w',
      'start',
    ]);
    await waitForPort(port);
  };
  await start();
  const pidOf = () => {
    const r = spawnSync('head', ['-1', join(data, 'postmaster.pid')], { encoding: 'utf8' });
    return Number(r.stdout.trim());
  };
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    async kill() {
      const pid = pidOf();
      if (pid > 0) {
        process.kill(pid, 'SIGKILL');
        // The children (backends) exit once the postmaster is gone.
        await waitUntil('PostgreSQL to stop', () => {
          try {
            process.kill(pid, 0);
            return false;
          } catch {
            return true;
          }
        });
        // Orphaned backends can hold the port briefly.
        await sleep(300);
        rmSync(join(data, 'postmaster.pid'), { force: true });
      }
    },
    async dispose() {
      spawnSync(asRoot ? 'runuser' : join(bin, 'pg_ctl'), [
        ...(asRoot ? ['-u', 'postgres', '--', join(bin, 'pg_ctl')] : []),
        '-D',
        data,
        '-m',
        'immediate',
        'stop',
      ]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
