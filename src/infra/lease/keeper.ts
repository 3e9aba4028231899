import type { Logger } from '../../logger.ts';
import type { Lease } from './types.ts';

export interface LeaseKeeperOptions {
  /** How often the holder renews, and a standby tries to take the lease. */
  everyMs: number;
  /** Told each change: true when this process took the lease, false when it lost or gave it up. */
  onChange(held: boolean): Promise<void>;
  logger: Logger;
}

export interface LeaseKeeper {
  held(): boolean;
  /** Stops trying, gives the lease up (after `onChange(false)`) and closes it. */
  stop(): Promise<void>;
}

/**
 * Holds a lease for as long as it can: renews it while held, tries to take it while not. A renew
 * that fails, throws or takes longer than `everyMs` counts as lost, so the holder stops acting
 * before the lease can expire and go to another process. Resolves after the first attempt and
 * its change, so a caller that holds the lease at start has acted on it.
 */
export async function keepLease(lease: Lease, options: LeaseKeeperOptions): Promise<LeaseKeeper> {
  const { everyMs, onChange, logger } = options;
  let held = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const attempt = async (): Promise<boolean> => {
    let timeout: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timeout = setTimeout(() => resolve(false), everyMs);
    });
    try {
      return await Promise.race([held ? lease.renew() : lease.acquire(), late]);
    } catch (err) {
      if (held) logger.warn({ err, lease: lease.kind }, 'could not renew the lease');
      else logger.debug({ err, lease: lease.kind }, 'could not try the lease');
      return false;
    } finally {
      clearTimeout(timeout);
    }
  };

  // Changes run in order on a chain of their own: a slow one (a connect) never delays a renew.
  let changes: Promise<void> = Promise.resolve();
  const change = (now: boolean) => {
    changes = changes.then(() =>
      onChange(now).catch((err: unknown) =>
        logger.error({ err, lease: lease.kind }, 'lease change failed'),
      ),
    );
  };

  const tick = async () => {
    const now = await attempt();
    if (stopped || now === held) return;
    held = now;
    change(now);
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(schedule);
    }, everyMs);
    timer.unref();
  };

  running = tick();
  await running;
  schedule();
  await changes;

  return {
    held: () => held,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      if (held) {
        held = false;
        change(false);
      }
      await changes;
      // Also when not held here: an attempt that was cut short by the stop may have taken it.
      await lease.release().catch(() => {});
      await lease.close();
    },
  };
}
