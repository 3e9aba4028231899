import { SampleWindow } from '../observability/window.ts';

/** Live figures of one model version in this process, for /models/stats and drift checks. */
export class VersionStats {
  requests = 0;
  errors = 0;
  unknown = 0;
  cacheHits = 0;
  shadowCompared = 0;
  shadowAgreed = 0;
  readonly latencyMs = new SampleWindow();
  readonly queueMs = new SampleWindow();
  readonly batchSizes = new SampleWindow(2_000);
  readonly confidence = new SampleWindow(5_000);
  readonly oodScore = new SampleWindow(5_000);
  readonly featureNorm = new SampleWindow(5_000);
  readonly since = new Date();

  constructor(
    readonly name: string,
    readonly version: number,
  ) {}

  summary() {
    const [p50, p95, p99] = this.latencyMs.percentiles(50, 95, 99);
    const [q50, q95] = this.queueMs.percentiles(50, 95);
    const conf = this.confidence.values();
    const hist = new Array<number>(10).fill(0);
    for (const c of conf) hist[Math.min(9, Math.floor(c * 10))]! += 1;
    const served = this.requests - this.errors;
    return {
      name: this.name,
      version: this.version,
      since: this.since.toISOString(),
      requests: this.requests,
      errors: this.errors,
      unknown_rate: served > 0 ? this.unknown / served : null,
      cache_hit_ratio: this.requests > 0 ? this.cacheHits / this.requests : null,
      latency_ms: { p50, p95, p99 },
      queue_ms: { p50: q50, p95: q95 },
      mean_batch_size: this.batchSizes.mean(),
      confidence: { mean: this.confidence.mean(), histogram: hist },
      shadow: {
        compared: this.shadowCompared,
        agreement: this.shadowCompared > 0 ? this.shadowAgreed / this.shadowCompared : null,
      },
    };
  }
}

export class ServingStats {
  private readonly versions = new Map<string, VersionStats>();

  of(name: string, version: number): VersionStats {
    const key = `${name}@${version}`;
    let s = this.versions.get(key);
    if (!s) {
      s = new VersionStats(name, version);
      this.versions.set(key, s);
    }
    return s;
  }

  all(): VersionStats[] {
    return [...this.versions.values()];
  }
}
