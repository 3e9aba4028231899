import type { Lease } from './types.ts';

/** The lease of a deployment of one process (embedded database, no Redis): always its own. */
export class SoleProcessLease implements Lease {
  readonly kind = 'process';

  async acquire(): Promise<boolean> {
    return true;
  }

  async renew(): Promise<boolean> {
    return true;
  }

  async release(): Promise<void> {}

  async close(): Promise<void> {}
}
