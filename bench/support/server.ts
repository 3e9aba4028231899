import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface RunningServer {
  url: string;
  process: ChildProcess;
  /** Milliseconds from spawn until /health answered. */
  startupMs: number;
  stop(): Promise<number | null>;
  rssMb(): number;
  /** CPU time (ms) the server has used so far, by thread: main, libvips workers, all others. */
  cpuMs(): { main: number; libvips: number; other: number };
  /** CPU time (ms) of every thread of the server, by thread id. */
  threadCpuMs(): Map<number, { name: string; ms: number }>;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

function perThreadCpuMs(pid: number): Map<number, { name: string; ms: number }> {
  const out = new Map<number, { name: string; ms: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(Number(tid), { name, ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS });
  }
  return out;
}

function threadCpuMs(pid: number): { main: number; libvips: number; other: number } {
  const out = { main: 0, libvips: 0, other: 0 };
  for (const [tid, { name, ms }] of perThreadCpuMs(pid)) {
    if (tid === pid) out.main += ms;
    else if (name.startsWith('libvips')) out.libvips += ms;
    else out.other += ms;
  }
  return out;
}

/** Starts `aquaml <command>` as its own process and waits until /health (or /ready) answers. */
export async function startServer(
  env: Record<string, string>,
  options: { command?: string; waitFor?: '/health' | '/ready'; timeoutMs?: number } = {},
): Promise<RunningServer> {
  const port = await freePort();
  const started = performance.now();
  // BENCH_SERVER_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=tmp/prof", profiles the server under load.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const args = [...nodeArgs, join(ROOT, 'bin/aquaml.js'), options.command ?? 'serve'];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const res = await fetch(url + (options.waitFor ?? '/health'));
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('server did not start in time');
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const startupMs = performance.now() - started;
  return {
    url,
    process: child,
    startupMs,
    rssMb() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return kb / 1024;
    },
    cpuMs() {
      return threadCpuMs(child.pid!);
    },
    threadCpuMs() {
      return perThreadCpuMs(child.pid!);
    },
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      });
    },
  };
}
