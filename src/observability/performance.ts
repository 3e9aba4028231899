/** What GET /api/v1/metrics/performance answers (the names of the platform AquaML replaces). */
export interface PerformanceSummary {
  window_seconds: number;
  latency_mean_ms: number | null;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  latency_p99_ms: number | null;
  throughput_rps: number;
  error_rate: number | null;
  total_requests: number;
  uptime_seconds: number;
  since: string;
}

/**
 * API requests of the last `windowMs`, kept exactly (time, latency, server error) in a ring of at
 * most `capacity`, so percentiles are true percentiles of the window, never averages of percentiles.
 * Recording is O(1); a summary sorts the window (100k samples: a few ms, on an operator's request).
 */
export class PerformanceWindow {
  private readonly at: Float64Array;
  private readonly latency: Float64Array;
  private readonly failed: Uint8Array;
  private next = 0;
  private filled = 0;
  private total = 0;
  private resetAt: number;
  private readonly startedAt: number;

  constructor(
    private readonly windowMs: number,
    capacity = 100_000,
    private readonly now: () => number = Date.now,
  ) {
    this.at = new Float64Array(capacity);
    this.latency = new Float64Array(capacity);
    this.failed = new Uint8Array(capacity);
    this.startedAt = this.resetAt = now();
  }

  record(latencyMs: number, serverError: boolean): void {
    const i = this.next;
    this.at[i] = this.now();
    this.latency[i] = latencyMs;
    this.failed[i] = serverError ? 1 : 0;
    this.next = (i + 1) % this.at.length;
    if (this.filled < this.at.length) this.filled += 1;
    this.total += 1;
  }

  /** Forgets every sample and restarts the request count (uptime keeps counting). */
  reset(): void {
    this.next = 0;
    this.filled = 0;
    this.total = 0;
    this.resetAt = this.now();
  }

  summary(): PerformanceSummary {
    const now = this.now();
    const from = now - this.windowMs;
    const latencies: number[] = [];
    let errors = 0;
    let sum = 0;
    for (let k = 0; k < this.filled; k++) {
      if (this.at[k]! < from) continue;
      const ms = this.latency[k]!;
      latencies.push(ms);
      sum += ms;
      errors += this.failed[k]!;
    }
    latencies.sort((a, b) => a - b);
    const n = latencies.length;
    // Nearest rank, as SampleWindow does.
    const pct = (p: number) =>
      n ? round(latencies[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!) : null;
    // Throughput over the part of the window this process has seen since start or reset.
    const spanMs = Math.max(1, Math.min(this.windowMs, now - this.resetAt));
    return {
      window_seconds: this.windowMs / 1000,
      latency_mean_ms: n ? round(sum / n) : null,
      latency_p50_ms: pct(50),
      latency_p95_ms: pct(95),
      latency_p99_ms: pct(99),
      throughput_rps: round(n / (spanMs / 1000)),
      error_rate: n ? round(errors / n, 4) : null,
      total_requests: this.total,
      uptime_seconds: Math.round((now - this.startedAt) / 100) / 10,
      since: new Date(Math.max(this.resetAt, from)).toISOString(),
    };
  }
}

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
