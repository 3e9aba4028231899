// The serving comparison's peers: Python servers (bench/peers/) run from a virtual environment
// built offline under tmp/ (pip here reads a local package index; --retries 0 skips waiting on
// the unreachable public one). When it cannot be built, the bench says why and runs without them.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, ROOT } from './server.ts';

const BASE = ['fastapi', 'uvicorn', 'uvloop', 'httptools', 'python-multipart', 'pillow', 'numpy'];
const RAY = [
  'ray',
  'aiohttp',
  'grpcio',
  'prometheus_client',
  'smart_open',
  'watchfiles',
  'requests',
  'jinja2',
];
const BASE_IMPORTS =
  'import fastapi, uvicorn, uvloop, httptools, multipart, PIL, numpy, onnxruntime';

export interface PeerEnv {
  python: string;
  /** Why Ray Serve cannot run, when it cannot. */
  rayMissing?: string;
}

function run(cmd: string, args: string[], timeoutMs: number): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`;
  return { ok: r.status === 0, out: out.trim().split('\n').slice(-3).join(' | ') };
}

/**
 * The peers' Python: `BENCH_PEERS_VENV` (default tmp/bench-peers-venv), created and filled on first
 * use. onnxruntime is pinned to the version onnxruntime-node uses, so both run the same kernels.
 */
export function peerEnv(ortVersion: string): PeerEnv | { missing: string } {
  const dir = process.env.BENCH_PEERS_VENV ?? join(ROOT, 'tmp', 'bench-peers-venv');
  const python = join(dir, 'bin', 'python');
  const has = (imports: string): boolean => run(python, ['-c', imports], 120_000).ok;
  if (!existsSync(python)) {
    const made = run('python3', ['-m', 'venv', dir], 120_000);
    if (!made.ok) return { missing: `python3 -m venv failed: ${made.out}` };
  }
  const pip = (pkgs: string[]) =>
    run(
      python,
      ['-m', 'pip', 'install', '--retries', '0', '--disable-pip-version-check', '-q', ...pkgs],
      900_000,
    );
  if (!has(BASE_IMPORTS)) {
    console.log(`building the peers' Python environment in ${dir} (offline pip)...`);
    const got = pip([...BASE, `onnxruntime==${ortVersion}`]);
    if (!got.ok || !has(BASE_IMPORTS)) return { missing: `pip install failed: ${got.out}` };
  }
  let rayMissing: string | undefined;
  if (!has('import ray, ray.serve')) {
    const got = pip(RAY);
    if (!got.ok || !has('import ray, ray.serve')) rayMissing = `pip install ray failed: ${got.out}`;
  }
  return { python, rayMissing };
}

function cpuMsOfTree(root: number): number {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(d), Number(f[1]));
      ticks.set(Number(d), Number(f[11]) + Number(f[12]));
    } catch {
      // the process ended meanwhile
    }
  }
  let total = 0;
  for (const [pid, t] of ticks) {
    for (let p: number | undefined = pid; p && p > 1; p = parent.get(p))
      if (p === root) {
        total += t;
        break;
      }
  }
  return total * 10; // USER_HZ 100
}

export interface PeerServer {
  label: string;
  url: string;
  /** CPU (ms) used so far by the server and every process it started. */
  cpuMs(): number;
  stop(): Promise<void>;
}

interface PeerSpawn {
  label: string;
  python: string;
  script: string;
  args: string[];
  env: Record<string, string>;
  /** Resolves when the server answers; `log()` is its output so far. */
  ready(url: string, child: ChildProcess, log: () => string): Promise<void>;
  timeoutMs: number;
}

async function startPeer(s: PeerSpawn, port: number): Promise<PeerServer> {
  // stdin stays open: the servers stop when it closes, so they end with the bench even if it dies.
  const child = spawn(s.python, [join(ROOT, 'bench', 'peers', s.script), ...s.args], {
    cwd: join(ROOT, 'bench', 'peers'),
    env: { ...process.env, ...s.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (b: Buffer) => {
    log = (log + b.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin!.end();
    const timer = setTimeout(() => child.kill('SIGTERM'), 30_000);
    const hard = setTimeout(() => child.kill('SIGKILL'), 45_000);
    await exited;
    clearTimeout(timer);
    clearTimeout(hard);
  };
  const url = `http://127.0.0.1:${port}`;
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(
      () => reject(new Error(`not ready after ${s.timeoutMs / 1000} s`)),
      s.timeoutMs,
    ).unref(),
  );
  const died = exited.then(() => {
    throw new Error(`exited (${child.exitCode ?? child.signalCode})`);
  });
  try {
    await Promise.race([s.ready(url, child, () => log), timeout, died]);
  } catch (err) {
    await stop();
    throw new Error(`${s.label}: ${(err as Error).message}; last output: ${log.slice(-600)}`);
  }
  return { label: s.label, url, cpuMs: () => cpuMsOfTree(child.pid!), stop };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** FastAPI + uvicorn (`workers` processes, uvloop, httptools), onnxruntime `threads` per worker. */
export async function startFastApi(
  python: string,
  modelDir: string,
  onnx: string,
  workers: number,
  threads: number,
): Promise<PeerServer> {
  const port = await freePort();
  const server = await startPeer(
    {
      label: 'fastapi',
      python,
      script: 'fastapi_server.py',
      args: ['--port', String(port), '--workers', String(workers), '--max-seconds', '3600'],
      env: { PEER_MODEL_DIR: modelDir, PEER_ONNX: onnx, PEER_ORT_THREADS: String(threads) },
      timeoutMs: 120_000,
      // Ready when every worker has answered (each loads the model before it accepts).
      async ready(url) {
        const pids = new Set<number>();
        const deadline = Date.now() + 90_000;
        while (pids.size < workers && Date.now() < deadline) {
          try {
            const r = await fetch(`${url}/health`, { headers: { connection: 'close' } });
            pids.add(((await r.json()) as { pid: number }).pid);
          } catch {
            // not listening yet
          }
          await sleep(100);
        }
        if (!pids.size) throw new Error('no worker answered');
      },
    },
    port,
  );
  return { ...server, url: `${server.url}/predict` };
}

/** Ray Serve, one replica, `@serve.batch(max_batch_size, batch_wait_timeout_s)`. */
export async function startRayServe(
  python: string,
  modelDir: string,
  onnx: string,
  threads: number,
  maxBatch: number,
  waitS: number,
  tempDir: string,
): Promise<PeerServer> {
  const port = await freePort();
  const server = await startPeer(
    {
      label: 'ray-serve',
      python,
      script: 'ray_server.py',
      args: ['--port', String(port), '--max-seconds', '3600', '--temp-dir', tempDir],
      env: {
        PEER_MODEL_DIR: modelDir,
        PEER_ONNX: onnx,
        PEER_ORT_THREADS: String(threads),
        PEER_RAY_MAX_BATCH: String(maxBatch),
        PEER_RAY_WAIT_S: String(waitS),
        RAY_USAGE_STATS_ENABLED: '0',
        // Ray binds its cluster to the machine's routable address unless told it is a lone node:
        // this keeps GCS, raylet and the workers on loopback.
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER: '0',
      },
      timeoutMs: 240_000,
      async ready(_url, _child, log) {
        while (!log().includes('READY')) await sleep(200);
      },
    },
    port,
  );
  return {
    ...server,
    url: `${server.url}/predict`,
    async stop() {
      await server.stop();
      rmSync(tempDir, { recursive: true, force: true });
    },
  };
}
