import { and, eq, isNull } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { devices } from '../../db/schema.ts';
import type { Logger } from '../../logger.ts';
import type { AlertSink } from './engine.ts';

/**
 * Raises `device_silent` when a sensor has sent nothing for `silentAfterMs` (wall clock), and
 * resolves it when the sensor speaks again. A sensor that never reported counts from its creation
 * or from this process's start, whichever is later.
 */
export class SilenceWatch {
  private readonly lastSeen = new Map<string, number>();
  private readonly silent = new Set<string>();
  private readonly startedAt = Date.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly sink: AlertSink,
    private readonly logger: Logger,
    private readonly silentAfterMs: number,
  ) {}

  async resume(): Promise<void> {
    for (const key of await this.sink.unresolvedRuleKeys()) {
      if (key.startsWith('silent:')) this.silent.add(key.slice('silent:'.length));
    }
  }

  /** A device was heard now. */
  heard(deviceId: string, now = Date.now()): void {
    this.lastSeen.set(deviceId, now);
    if (this.silent.delete(deviceId)) {
      this.sink
        .resolve(`silent:${deviceId}`, new Date(now), undefined, 'device reported again')
        .catch((err: unknown) => this.logger.error({ err }, 'resolving a silence alert failed'));
    }
  }

  /** One pass over the sensors. */
  async check(now = Date.now()): Promise<number> {
    const sensors = await this.db
      .select({
        id: devices.id,
        unitId: devices.unitId,
        farmId: devices.farmId,
        name: devices.name,
        lastSeenAt: devices.lastSeenAt,
        createdAt: devices.createdAt,
      })
      .from(devices)
      .where(and(eq(devices.kind, 'sensor'), isNull(devices.disabledAt)));
    let opened = 0;
    for (const d of sensors) {
      if (this.silent.has(d.id)) continue;
      const last = Math.max(
        this.lastSeen.get(d.id) ?? 0,
        d.lastSeenAt?.getTime() ?? 0,
        d.createdAt.getTime(),
        this.startedAt,
      );
      if (now - last < this.silentAfterMs) continue;
      this.silent.add(d.id);
      const minutes = Math.round((now - last) / 60_000);
      const isNew = await this.sink.open({
        ruleKey: `silent:${d.id}`,
        kind: 'device_silent',
        severity: 'warning',
        farmId: d.farmId,
        unitId: d.unitId,
        deviceId: d.id,
        message: `Sensor "${d.name}" has sent nothing for ${minutes} min`,
        details: { last_seen: new Date(last).toISOString(), silent_after_ms: this.silentAfterMs },
        openedAt: new Date(last + this.silentAfterMs),
      });
      if (isNew) opened += 1;
    }
    return opened;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.check().catch((err: unknown) => this.logger.error({ err }, 'silence check failed'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
