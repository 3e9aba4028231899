// The load generator every server in the serving comparison gets: Node's own fetch (undici,
// keep-alive), `connections` closed loops posting pre-built bodies round-robin for a fixed time.
// One generator for all servers, so its cost and its quirks are the same for each of them.

export interface FetchLoadOptions {
  url: string;
  headers: Record<string, string>;
  bodies: readonly Uint8Array[];
  connections: number;
  durationMs: number;
  /** Per-request timeout: a stuck request counts as an error instead of stalling the run. */
  timeoutMs?: number;
}

export interface FetchLoadResult {
  connections: number;
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  /** The first error seen, to say what went wrong. */
  firstError?: string;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[i]! * 100) / 100;
}

export async function fetchLoad(o: FetchLoadOptions): Promise<FetchLoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  const started = performance.now();
  const end = started + o.durationMs;
  const loop = async (): Promise<void> => {
    while (performance.now() < end) {
      const body = o.bodies[next++ % o.bodies.length]!;
      const t0 = performance.now();
      try {
        const res = await fetch(o.url, {
          method: 'POST',
          headers: o.headers,
          body,
          signal: AbortSignal.timeout(o.timeoutMs ?? 30_000),
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
        latencies.push(performance.now() - t0);
      } catch (err) {
        errors += 1;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: o.connections }, loop));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    connections: o.connections,
    requests: latencies.length,
    errors,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    firstError,
  };
}
