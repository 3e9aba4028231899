import autocannon from 'autocannon';

export interface LoadResult {
  label: string;
  connections: number;
  requests: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  non2xx: number;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[i]! * 100) / 100;
}

/**
 * A bounded autocannon run on loopback. Latencies are recorded per response (autocannon's own
 * summary has no p95), and percentiles are computed exactly from them.
 */
export async function load(
  label: string,
  options: autocannon.Options & { url: string },
): Promise<LoadResult> {
  const latencies: number[] = [];
  // Without a callback autocannon returns an emitter that is also a promise of the result.
  const instance = autocannon({ duration: 10, ...options }) as unknown as NodeJS.EventEmitter &
    Promise<autocannon.Result>;
  instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) =>
    latencies.push(ms),
  );
  const result = await instance;
  latencies.sort((a, b) => a - b);
  return {
    label,
    connections: options.connections ?? 10,
    requests: result.requests.total,
    rps: result.requests.total / (result.duration || 1),
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

export function printTable(rows: LoadResult[]): void {
  console.table(
    rows.map((r) => ({
      run: r.label,
      conc: r.connections,
      'req/s': Math.round(r.rps),
      'p50 ms': r.p50,
      'p95 ms': r.p95,
      'p99 ms': r.p99,
      requests: r.requests,
      errors: r.errors,
      non2xx: r.non2xx,
    })),
  );
}
