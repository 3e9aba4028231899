/**
 * Short-lived flags and counters (revoked sessions, failed credentials per address). Shared by
 * every API process through Redis when REDIS_URL is set; in this process's memory otherwise
 * (the embedded setup is one process).
 */
export interface ExpiringStore {
  readonly kind: 'memory' | 'redis';
  /** Sets a flag that disappears after ttlMs. */
  flag(key: string, ttlMs: number): Promise<void>;
  /** Whether any of the keys is flagged. */
  anyFlagged(keys: string[]): Promise<boolean>;
  /** Adds one to a counter that starts its ttlMs window at the first increment; returns the count. */
  increment(key: string, ttlMs: number): Promise<number>;
  /** The counter's value and the milliseconds left in its window (0, 0 when absent). */
  count(key: string): Promise<{ value: number; ttlMs: number }>;
}
