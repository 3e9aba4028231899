export type ComponentStatus = 'ok' | 'degraded' | 'down';

export interface ComponentHealth {
  status: ComponentStatus;
  latency_ms: number;
  /** What the component is (e.g. "pglite", "postgres", "bullmq"), and anything an operator needs. */
  details?: Record<string, unknown>;
  error?: string;
}

export type HealthCheck = () => Promise<Omit<ComponentHealth, 'latency_ms'> | void>;

const CHECK_TIMEOUT_MS = 2_000;

/** Named dependency checks for /health/detailed, and the readiness conditions for /ready. */
export class HealthRegistry {
  private readonly checks = new Map<string, HealthCheck>();
  private readonly pending = new Set<string>();

  register(name: string, check: HealthCheck): void {
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

  async runAll(): Promise<Record<string, ComponentHealth>> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]) => [name, await runOne(check)] as const),
    );
    return Object.fromEntries(entries);
  }
}

async function runOne(check: HealthCheck): Promise<ComponentHealth> {
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
