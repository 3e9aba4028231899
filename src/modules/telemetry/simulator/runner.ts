import { type OxygenCrash, type UnitProfile, UnitSimulator } from './model.ts';

export interface SimulatedUnit {
  farmId: string;
  unitId: string;
  deviceId: string;
  profile: UnitProfile;
}

export interface SimulatedReading {
  metric: string;
  value: number;
  ts: string;
}

/** Where simulated readings go: the HTTP API, an MQTT broker, or straight into ingest. */
export interface SimulationSink {
  send(unit: SimulatedUnit, readings: SimulatedReading[]): Promise<void>;
}

export interface SimulationOptions {
  units: SimulatedUnit[];
  /** Readings per second per unit. */
  ratePerUnit: number;
  /** Stop after this long; undefined: until the signal aborts. */
  durationMs?: number;
  /** Crash the oxygen of every tenth unit (the first included). */
  faults: boolean;
  seed: number;
  sink: SimulationSink;
  signal?: AbortSignal;
  tickMs?: number;
  onError?: (err: unknown) => void;
}

export interface SimulationStats {
  sent: number;
  failed: number;
  dropped: number;
  elapsedMs: number;
  crashedUnits: string[];
}

/** The crash of a faulty unit: 20 % into the run, or 5 minutes in when the run has no end. */
function crashFor(start: number, durationMs: number | undefined): OxygenCrash {
  const span = durationMs ?? 60 * 60_000;
  return {
    at: start + Math.min(0.2 * span, 5 * 60_000),
    fallMs: Math.min(0.15 * span, 3 * 60_000),
    holdMs: Math.min(0.3 * span, 10 * 60_000),
    recoverMs: Math.min(0.15 * span, 3 * 60_000),
    floor: 1.5,
  };
}

/**
 * Publishes readings of every unit at the given rate, in real time, until the duration ends or the
 * signal aborts. Sends of one unit never overlap; a sink that falls behind skips ticks (counted as
 * dropped) rather than queueing without bound.
 */
export async function runSimulation(options: SimulationOptions): Promise<SimulationStats> {
  const start = Date.now();
  const tickMs = options.tickMs ?? Math.max(100, Math.min(1000, 1000 / options.ratePerUnit));
  const crashed: string[] = [];
  const sims = options.units.map((u, i) => {
    const crash = options.faults && i % 10 === 0 ? crashFor(start, options.durationMs) : undefined;
    if (crash) crashed.push(u.unitId);
    return {
      unit: u,
      sim: new UnitSimulator(u.profile, { seed: options.seed + i * 7919, crash }, start),
      owed: 0,
      busy: false,
    };
  });
  const stats: SimulationStats = {
    sent: 0,
    failed: 0,
    dropped: 0,
    elapsedMs: 0,
    crashedUnits: crashed,
  };
  const inFlight = new Set<Promise<void>>();
  let last = start;
  const end = options.durationMs === undefined ? Infinity : start + options.durationMs;
  while (!options.signal?.aborted && Date.now() < end) {
    await new Promise((r) => setTimeout(r, tickMs));
    const now = Math.min(Date.now(), end);
    const dt = now - last;
    last = now;
    for (const s of sims) {
      s.owed += (options.ratePerUnit * dt) / 1000;
      const n = Math.floor(s.owed);
      if (n === 0) continue;
      s.owed -= n;
      if (s.busy) {
        stats.dropped += n;
        continue;
      }
      const readings: SimulatedReading[] = [];
      for (let k = 0; k < n; k++) {
        const ts = now - dt + ((k + 1) * dt) / n;
        const r = s.sim.next(ts);
        if (r) readings.push({ metric: r.metric, value: r.value, ts: new Date(ts).toISOString() });
      }
      if (!readings.length) continue;
      s.busy = true;
      const p = options.sink
        .send(s.unit, readings)
        .then(
          () => {
            stats.sent += readings.length;
          },
          (err: unknown) => {
            stats.failed += readings.length;
            options.onError?.(err);
          },
        )
        .finally(() => {
          s.busy = false;
          inFlight.delete(p);
        });
      inFlight.add(p);
    }
  }
  await Promise.all([...inFlight]);
  stats.elapsedMs = Date.now() - start;
  return stats;
}
