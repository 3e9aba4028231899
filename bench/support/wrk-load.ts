// A second, lighter load generator for latency comparisons: wrk (C, epoll; Debian's `wrk`),
// driven by a Lua script that cycles through prepared request bodies. Its per-request cost is a
// small fraction of autocannon's, so its latencies carry less of the load generator's own event
// loop delay. Returns null when wrk is not installed.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadResult } from './load.ts';

/** What autocannon's runs report, less the labels; `errors` counts socket errors and non-2xx/3xx answers. */
export type WrkResult = Pick<LoadResult, 'requests' | 'rps' | 'p50' | 'p95' | 'p99' | 'errors'>;

export function wrkAvailable(): boolean {
  return spawnSync('wrk', ['--version']).error === undefined;
}

const luaString = (s: string) => JSON.stringify(s);

function script(dir: string, count: number, method: string, headers: Record<string, string>) {
  const headerLines = Object.entries(headers)
    .map(([k, v]) => `  [${luaString(k)}] = ${luaString(v)},`)
    .join('\n');
  return `
local requests = {}
local i = 0
function init(args)
  local headers = {
${headerLines}
  }
  for n = 0, ${count - 1} do
    local f = assert(io.open(${luaString(dir)} .. "/" .. n .. ".body", "rb"))
    local body = f:read("*a")
    f:close()
    requests[n + 1] = wrk.format(${luaString(method)}, nil, headers, body)
  end
end
function request()
  i = i % #requests + 1
  return requests[i]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"errors":%d,"p50":%f,"p95":%f,"p99":%f}\\n',
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
`;
}

/** Runs wrk with one thread and `connections` keep-alive connections for `seconds`. */
export async function wrkLoad(opts: {
  url: string;
  method: string;
  headers: Record<string, string>;
  bodies: Buffer[];
  connections: number;
  seconds: number;
}): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), 'aquaml-wrk-'));
  try {
    opts.bodies.forEach((b, n) => writeFileSync(join(dir, `${n}.body`), b));
    const lua = join(dir, 'load.lua');
    writeFileSync(lua, script(dir, opts.bodies.length, opts.method, opts.headers));
    const args = ['-t1', `-c${opts.connections}`, `-d${opts.seconds}s`, '--timeout', '10s'];
    const child = spawn('wrk', [...args, '-s', lua, opts.url], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    const line = out.split('\n').find((l) => l.startsWith('{"requests"'));
    if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}): ${out}`);
    const r = JSON.parse(line) as {
      requests: number;
      duration_us: number;
      errors: number;
      p50: number;
      p95: number;
      p99: number;
    };
    const round = (ms: number) => Math.round(ms * 100) / 100;
    return {
      requests: r.requests,
      rps: r.requests / (r.duration_us / 1e6),
      p50: round(r.p50),
      p95: round(r.p95),
      p99: round(r.p99),
      errors: r.errors,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
