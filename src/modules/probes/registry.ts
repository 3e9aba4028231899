export type ComponentStatus = 'ok' | 'degraded' | 'down';

export interface ProbeResult {
  status: ComponentStatus;
  latency_ms: number;
  /** What the component is (e.g. "pglite", "postgres", "bullmq"), and anything an operator needs. */
  details?: Record<string, unknown>;
  error?: string;
}

export type Probe = () => Promise<Omit<ProbeResult, 'latency_ms'> | void>;

const CHECK_TIMEOUT_MS = 2_000;

/** Named dependency probes for /health/detailed, and the readiness conditions for /ready. */
export class ProbeRegistry {
  private readonly checks = new Map<string, Probe>();
  private readonly pending = new Set<string>();

  register(name: string, check: Probe): void {
    this.checks.set(name, check);
  }

  /** A condition that must be met before the process reports ready. */
  waitFor(condition: string): () => void {
    this.pending.add(condition);
    return () => this.pending.delete(condition);
  }

  notReadyBecause(): string[] {
    return [...this.pending];
  }

  async runAll(): Promise<Record<string, ProbeResult>> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]) => [name, await runOne(check)] as const),
    );
    return Object.fromEntries(entries);
  }
}

async function runOne(check: Probe): Promise<ProbeResult> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { status: 'ok', ...(result ?? {}), latency_ms: round(performance.now() - start) };
  } catch (err) {
    return {
      status: 'down',
      latency_ms: round(performance.now() - start),
      error: err instanceof Error ? err.message : String(err),
    };
  } finally {
    clearTimeout(timer);
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;
