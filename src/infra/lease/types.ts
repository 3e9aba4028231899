/**
 * A lease: at most one process at a time holds it. A holder renews it well within its time to
 * live; a holder that stops renewing (crashed, cut off) loses it when that time runs out, and a
 * standby process then takes it.
 */
export interface Lease {
  readonly kind: 'redis' | 'postgres' | 'process';
  /** Takes the lease when nobody holds it; true when this process holds it now. */
  acquire(): Promise<boolean>;
  /** Extends the lease this process holds; false (or a throw) when it is no longer its own. */
  renew(): Promise<boolean>;
  /** Gives the lease up at once (a clean stop), so a standby need not wait for it to expire. */
  release(): Promise<void>;
  close(): Promise<void>;
}
