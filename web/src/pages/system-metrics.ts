/** Just enough of the Prometheus text format for the System page's figures. */
export interface Parsed {
  /** bucket upper bound -> cumulative count, summed over every route and method */
  buckets: Map<number, number>;
  count: number;
  errors: number;
  cacheHits: number;
  cacheLookups: number;
}

export interface MetricsWindow {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  throughput: number;
  errorRate: number | null;
  cacheHitRatio: number | null;
  seconds: number;
}

const LINE = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)/;

function labels(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of (text ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]] = m[2];
  return out;
}

export function parsePrometheus(text: string): Parsed & { at: number } {
  const p: Parsed & { at: number } = {
    buckets: new Map(),
    count: 0,
    errors: 0,
    cacheHits: 0,
    cacheLookups: 0,
    at: Date.now(),
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const [, name, lbl, raw] = m;
    const value = Number(raw);
    if (!Number.isFinite(value) && raw !== '+Inf') continue;
    const l = labels(lbl);
    if (name === 'aquaml_http_request_duration_seconds_bucket') {
      const le = l.le === '+Inf' ? Infinity : Number(l.le);
      p.buckets.set(le, (p.buckets.get(le) ?? 0) + value);
    } else if (name === 'aquaml_http_request_duration_seconds_count') {
      p.count += value;
      if (Number(l.status) >= 500) p.errors += value;
    } else if (name === 'aquaml_prediction_cache_total') {
      p.cacheLookups += value;
      if (l.result === 'hit') p.cacheHits += value;
    }
  }
  return p;
}

/** Percentile from cumulative histogram buckets, interpolated linearly within a bucket, in ms. */
function quantile(buckets: [number, number][], q: number): number | null {
  const total = buckets.length ? buckets[buckets.length - 1][1] : 0;
  if (total <= 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, c] of buckets) {
    if (c >= rank) {
      if (le === Infinity) return prevLe * 1000;
      const inBucket = c - prevCount;
      const frac = inBucket > 0 ? (rank - prevCount) / inBucket : 1;
      return (prevLe + (le - prevLe) * frac) * 1000;
    }
    prevLe = le;
    prevCount = c;
  }
  return prevLe * 1000;
}

/** Figures over the window between two scrapes (or since start when both are the same scrape). */
export function windowFromMetrics(
  a: Parsed & { at: number },
  b: Parsed & { at: number },
): MetricsWindow {
  const same = a === b;
  const les = [...b.buckets.keys()].sort((x, y) => x - y);
  const delta: [number, number][] = les.map((le) => [
    le,
    b.buckets.get(le)! - (same ? 0 : (a.buckets.get(le) ?? 0)),
  ]);
  const count = b.count - (same ? 0 : a.count);
  const errors = b.errors - (same ? 0 : a.errors);
  const hits = b.cacheHits - (same ? 0 : a.cacheHits);
  const lookups = b.cacheLookups - (same ? 0 : a.cacheLookups);
  const seconds = Math.max(0.001, (b.at - a.at) / 1000);
  return {
    p50: quantile(delta, 0.5),
    p95: quantile(delta, 0.95),
    p99: quantile(delta, 0.99),
    throughput: same ? 0 : count / seconds,
    errorRate: count > 0 ? errors / count : null,
    cacheHitRatio:
      b.cacheLookups > 0 ? b.cacheHits / b.cacheLookups : lookups > 0 ? hits / lookups : null,
    seconds,
  };
}
