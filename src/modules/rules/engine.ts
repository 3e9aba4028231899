import type { AlertSeverity } from '../../db/schema.ts';
import type { Logger } from '../../logger.ts';
import { metricSpec } from '../telemetry/catalog.ts';
import type { ArrivedReading } from '../telemetry/pipeline.ts';
import { unionizedAmmonia } from './ammonia.ts';
import { Debounce, WindowSlope } from './series.ts';
import { type Range, type Thresholds, UNIONIZED_AMMONIA } from './thresholds.ts';

export const RULE_KINDS = ['water_quality', 'rate_of_change', 'device_silent'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/** What a rule asks the alert store to open. */
export interface RuleAlert {
  ruleKey: string;
  kind: RuleKind;
  severity: AlertSeverity;
  farmId: string;
  unitId: string;
  deviceId?: string;
  metric?: string;
  message: string;
  details: Record<string, unknown>;
  /** When the condition began. */
  openedAt: Date;
  value?: number;
}

export interface AlertSink {
  /** Opens the alert unless one with this rule key is unresolved; true when this call opened it. */
  open(alert: RuleAlert): Promise<boolean>;
  /** Resolves the unresolved alert with this rule key, if any. */
  resolve(ruleKey: string, at: Date, value: number | undefined, reason: string): Promise<boolean>;
  /** Rule keys of the alerts unresolved now (to resume after a restart). */
  unresolvedRuleKeys(): Promise<string[]>;
}

export interface RuleOptions {
  /** A condition must hold this long (reading time) to open an alert, its recovery as long to resolve it. */
  minDurationMs: number;
  /** Dissolved oxygen falling faster than this (mg/L per hour) over the window raises an alert. */
  oxygenFallPerHour: number;
  rateWindowMs: number;
  /** Total ammonia is combined with pH and temperature readings at most this old. */
  ammoniaPairingMs: number;
  thresholdsTtlMs: number;
}

/**
 * Recovery margins: inside a limit by this much counts as recovered (hysteresis). Absolute for
 * metrics measured on a fixed scale, a fraction of the limit for concentrations.
 */
const HYSTERESIS: Record<string, { abs?: number; rel?: number }> = {
  temperature: { abs: 0.5 },
  dissolved_oxygen: { abs: 0.3 },
  dissolved_oxygen_saturation: { abs: 3 },
  ph: { abs: 0.1 },
  salinity: { abs: 0.5 },
};

function margin(metric: string, limit: number): number {
  const h = HYSTERESIS[metric];
  if (h?.abs !== undefined) return h.abs;
  return Math.abs(limit) * (h?.rel ?? 0.1);
}

/** Low oxygen kills within hours; the other excursions stress and are warnings. */
function severityOf(metric: string, side: 'low' | 'high'): AlertSeverity {
  if ((metric === 'dissolved_oxygen' || metric === 'dissolved_oxygen_saturation') && side === 'low')
    return 'critical';
  return 'warning';
}

interface UnitState {
  farmId: string;
  thresholds: Thresholds | undefined;
  loadedAt: number;
  loading: Promise<void> | undefined;
  queue: ArrivedReading[];
  running: boolean;
  /** Alert actions of this unit run in order (an open before its resolve). */
  actions: Promise<unknown>;
  range: Map<string, Debounce>;
  lastTs: Map<string, number>;
  latest: Map<string, { ts: number; value: number }>;
  slope: WindowSlope;
  rate: Debounce;
}

/** Evaluates the water-quality rules on every reading this process sees; keeps per-series state. */
export class RuleEngine {
  private readonly units = new Map<string, UnitState>();
  private resumed = new Set<string>();

  constructor(
    private readonly loadThresholds: (unitId: string) => Promise<Thresholds>,
    private readonly sink: AlertSink,
    private readonly logger: Logger,
    private readonly options: RuleOptions,
    private readonly onOpened?: (alert: RuleAlert, reading: ArrivedReading) => void,
  ) {}

  /** Picks up the alerts left open by an earlier run, so their recovery resolves them. */
  async resume(): Promise<void> {
    this.resumed = new Set(await this.sink.unresolvedRuleKeys());
  }

  /** Drops a unit's cached thresholds (after an override changed). */
  invalidate(unitId: string): void {
    const u = this.units.get(unitId);
    if (u) u.loadedAt = 0;
  }

  observe(readings: readonly ArrivedReading[]): void {
    for (const r of readings) {
      let u = this.units.get(r.unitId);
      if (!u) {
        u = this.newUnit(r.farmId, r.unitId);
        this.units.set(r.unitId, u);
      }
      u.queue.push(r);
      if (!u.running) {
        u.running = true;
        void this.drain(r.unitId, u);
      }
    }
  }

  private newUnit(farmId: string, unitId: string): UnitState {
    return {
      farmId,
      thresholds: undefined,
      loadedAt: 0,
      loading: undefined,
      queue: [],
      running: false,
      actions: Promise.resolve(),
      range: new Map(),
      lastTs: new Map(),
      latest: new Map(),
      slope: new WindowSlope(this.options.rateWindowMs),
      rate: new Debounce(this.resumed.has(`rate:${unitId}:dissolved_oxygen`)),
    };
  }

  private async drain(unitId: string, u: UnitState): Promise<void> {
    try {
      while (u.queue.length) {
        if (Date.now() - u.loadedAt > this.options.thresholdsTtlMs) {
          try {
            u.thresholds = await this.loadThresholds(unitId);
          } catch (err) {
            this.logger.error({ err, unitId }, 'loading thresholds failed');
            u.thresholds ??= {};
          }
          u.loadedAt = Date.now();
        }
        const batch = u.queue.splice(0).sort((a, b) => a.ts - b.ts);
        for (const r of batch) this.evaluate(unitId, u, r);
      }
    } finally {
      u.running = false;
    }
  }

  private evaluate(unitId: string, u: UnitState, r: ArrivedReading): void {
    // Readings older than the last seen of the same series (late or repeated) do not move rules.
    const seriesKey = `${r.deviceId}:${r.metric}`;
    if ((u.lastTs.get(seriesKey) ?? -Infinity) >= r.ts) return;
    u.lastTs.set(seriesKey, r.ts);
    u.latest.set(r.metric, { ts: r.ts, value: r.value });
    this.checkRange(unitId, u, r, r.metric, r.value);
    if (r.metric === 'ammonia_total') {
      const ph = u.latest.get('ph');
      const temp = u.latest.get('temperature');
      const fresh = (x: { ts: number } | undefined) =>
        x !== undefined && Math.abs(r.ts - x.ts) <= this.options.ammoniaPairingMs;
      if (fresh(ph) && fresh(temp)) {
        const nh3 = unionizedAmmonia(r.value, ph!.value, temp!.value);
        this.checkRange(unitId, u, r, UNIONIZED_AMMONIA, nh3);
      }
    }
    if (r.metric === 'dissolved_oxygen') this.checkRate(unitId, u, r);
  }

  private checkRange(
    unitId: string,
    u: UnitState,
    r: ArrivedReading,
    metric: string,
    value: number,
  ): void {
    const range: Range | undefined = u.thresholds?.[metric];
    const key = `range:${unitId}:${metric}`;
    let state = u.range.get(metric);
    if (!range && !state) return;
    if (!state) {
      state = new Debounce(this.resumed.has(key));
      u.range.set(metric, state);
    }
    const low = range?.min !== null && range?.min !== undefined && value < range.min;
    const high = range?.max !== null && range?.max !== undefined && value > range.max;
    const recovered =
      !range ||
      ((range.min === null || value >= range.min + margin(metric, range.min)) &&
        (range.max === null || value <= range.max - margin(metric, range.max)));
    const t = state.step(r.ts, low || high, recovered, this.options.minDurationMs);
    if (t?.type === 'open') {
      const side = low ? 'low' : 'high';
      const limit = low ? range!.min! : range!.max!;
      const unitOf = metricSpec(metric)?.unit ?? (metric === UNIONIZED_AMMONIA ? 'mg/L' : '');
      const alert: RuleAlert = {
        ruleKey: key,
        kind: 'water_quality',
        severity: severityOf(metric, side),
        farmId: r.farmId,
        unitId,
        deviceId: r.deviceId,
        metric,
        message: `${metric} ${round(value)} ${unitOf} is ${side === 'low' ? 'below the minimum' : 'above the maximum'} ${limit} (${range!.origin === 'unit' ? "the unit's threshold" : "the stocked species' range"})`,
        details: { value, limit, side, range, since: new Date(t.since).toISOString() },
        openedAt: new Date(t.since),
        value,
      };
      this.act(u, () =>
        this.sink.open(alert).then((opened) => opened && this.onOpened?.(alert, r)),
      );
    } else if (t?.type === 'resolve') {
      this.act(u, () =>
        this.sink.resolve(key, new Date(r.ts), value, `${metric} back within range`),
      );
    }
  }

  private checkRate(unitId: string, u: UnitState, r: ArrivedReading): void {
    u.slope.add(r.ts, r.value);
    const slope = u.slope.slope();
    // Judge only over most of a window, or a few noisy samples make a steep line.
    if (slope === undefined || u.slope.span() < this.options.rateWindowMs / 2) return;
    const limit = -this.options.oxygenFallPerHour;
    const key = `rate:${unitId}:dissolved_oxygen`;
    const t = u.rate.step(r.ts, slope < limit, slope > limit / 2, this.options.minDurationMs);
    if (t?.type === 'open') {
      const alert: RuleAlert = {
        ruleKey: key,
        kind: 'rate_of_change',
        severity: 'warning',
        farmId: r.farmId,
        unitId,
        deviceId: r.deviceId,
        metric: 'dissolved_oxygen',
        message: `dissolved_oxygen falling ${round(-slope)} mg/L per hour (alert above ${this.options.oxygenFallPerHour})`,
        details: { slope_per_hour: slope, value: r.value, window_ms: this.options.rateWindowMs },
        openedAt: new Date(t.since),
        value: r.value,
      };
      this.act(u, () =>
        this.sink.open(alert).then((opened) => opened && this.onOpened?.(alert, r)),
      );
    } else if (t?.type === 'resolve') {
      this.act(u, () =>
        this.sink.resolve(key, new Date(r.ts), r.value, 'dissolved_oxygen no longer falling fast'),
      );
    }
  }

  private act(u: UnitState, action: () => Promise<unknown>): void {
    u.actions = u.actions
      .then(action)
      .catch((err: unknown) => this.logger.error({ err }, 'alert action failed'));
  }

  /** Resolves when every alert action queued so far has run (tests, shutdown). */
  async settle(): Promise<void> {
    for (;;) {
      const pending = [...this.units.values()].filter((u) => u.running || u.queue.length);
      await Promise.all([...this.units.values()].map((u) => u.actions));
      if (!pending.length) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

const round = (v: number) => Math.round(v * 1000) / 1000;
