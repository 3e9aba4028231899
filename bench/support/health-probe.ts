import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface HealthProbe {
  /** Stops probing; the round trips (ms) seen, -1 for an answer other than 200. */
  stop(): Promise<number[]>;
}

/**
 * Polls /health from a separate process every 5 ms, as a load balancer would: what it measures
 * is the server's responsiveness, not the event loop of the process sending the load.
 */
export async function startHealthProbe(url: string): Promise<HealthProbe> {
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, 'health-probe-child.mjs'), url],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (out.startsWith('ready\n')) resolve();
      else if (child.exitCode !== null) reject(new Error('the /health probe exited'));
      else setTimeout(check, 10);
    };
    check();
  });
  return {
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin.end();
      await exited;
      const last = out.trim().split('\n').at(-1) ?? '[]';
      return JSON.parse(last) as number[];
    },
  };
}
