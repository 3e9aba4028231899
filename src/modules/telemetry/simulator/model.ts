/**
 * Synthetic water of one unit, for demos, load tests and rule tests: daily temperature and oxygen
 * cycles, oxygen dips after each feeding, slow sensor drift, short dropouts, and (with faults) an
 * oxygen crash. Deterministic for a seed.
 */
import { rng } from '../../../ml/rng.ts';

export interface UnitProfile {
  /** Temperature around which the day swings (C) and the swing's half-amplitude. */
  temperatureMid: number;
  temperatureSwing: number;
  salinity: number;
  ph: number;
}

export interface OxygenCrash {
  /** When the fall begins (ms since the epoch). */
  at: number;
  fallMs: number;
  holdMs: number;
  recoverMs: number;
  /** The value oxygen falls to (mg/L). */
  floor: number;
}

export interface SimulatorOptions {
  seed: number;
  /** Standard deviation of the measurement noise, as a fraction of each metric's usual spread. */
  noise?: number;
  /** Chance per second that the sensor drops out for 30-120 s. */
  dropoutPerSecond?: number;
  /** Oxygen sensor drift (mg/L per day). */
  oxygenDriftPerDay?: number;
  crash?: OxygenCrash;
}

/** The metrics in the order a sensor cycles through them; oxygen every other reading. */
export const SIMULATED_METRICS = [
  'dissolved_oxygen',
  'temperature',
  'dissolved_oxygen',
  'ph',
  'dissolved_oxygen',
  'dissolved_oxygen_saturation',
  'dissolved_oxygen',
  'ammonia_total',
  'dissolved_oxygen',
  'nitrite',
  'dissolved_oxygen',
  'nitrate',
  'dissolved_oxygen',
  'salinity',
  'dissolved_oxygen',
  'turbidity',
] as const;

/** Feeding times (hours of the day, UTC); oxygen dips after each. */
const FEEDINGS_H = [8, 12, 16];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * Oxygen solubility in fresh water at sea level (mg/L) from temperature (C): the polynomial of
 * Elmore & Hayes (1960) as used in APHA tables, good to about 0.1 mg/L at 0-30 C.
 */
export function oxygenSaturation(temperatureC: number): number {
  const t = temperatureC;
  return 14.652 - 0.41022 * t + 0.007991 * t * t - 0.000077774 * t * t * t;
}

export class UnitSimulator {
  private readonly random: () => number;
  private readonly noise: number;
  private readonly dropout: number;
  private readonly drift: number;
  private silentUntil = 0;
  private lastDropoutCheck = 0;
  private step = 0;
  readonly start: number;

  constructor(
    readonly profile: UnitProfile,
    private readonly options: SimulatorOptions,
    start: number,
  ) {
    this.random = rng(options.seed);
    this.noise = options.noise ?? 1;
    this.dropout = options.dropoutPerSecond ?? 1 / 3600;
    this.drift = options.oxygenDriftPerDay ?? (this.random() - 0.5) * 0.2;
    this.start = start;
    this.lastDropoutCheck = start;
  }

  private gauss(): number {
    const u = 1 - this.random();
    const v = this.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  private hourOfDay(t: number): number {
    return (((t % DAY) + DAY) % DAY) / HOUR;
  }

  /** Hours since the last feeding (large when none today yet). */
  private sinceFeeding(t: number): number {
    const h = this.hourOfDay(t);
    const past = FEEDINGS_H.filter((f) => f <= h);
    return past.length ? h - past.at(-1)! : h + 24 - FEEDINGS_H.at(-1)!;
  }

  temperature(t: number): number {
    const h = this.hourOfDay(t);
    const p = this.profile;
    return p.temperatureMid + p.temperatureSwing * Math.sin((2 * Math.PI * (h - 9)) / 24);
  }

  /** How much of the normal oxygen is left during a crash (1 outside it). */
  private crashFactor(t: number): number {
    const c = this.options.crash;
    if (!c || t < c.at) return 1;
    const into = t - c.at;
    const normal = this.oxygenNoCrash(t);
    const low = Math.min(1, c.floor / normal);
    if (into < c.fallMs) return 1 - (1 - low) * (into / c.fallMs);
    if (into < c.fallMs + c.holdMs) return low;
    const back = into - c.fallMs - c.holdMs;
    if (back < c.recoverMs) return low + (1 - low) * (back / c.recoverMs);
    return 1;
  }

  private oxygenNoCrash(t: number): number {
    const h = this.hourOfDay(t);
    const saturation = oxygenSaturation(this.temperature(t));
    // Photosynthesis by day, respiration by night: about 65 % of saturation at dawn, 105 % mid-afternoon.
    const daily = 0.85 + 0.2 * Math.sin((2 * Math.PI * (h - 10)) / 24);
    const feedingDip = 1.0 * Math.exp(-this.sinceFeeding(t) / (20 / 60));
    return Math.max(0.5, saturation * daily - feedingDip);
  }

  /** The true oxygen (mg/L) at time t, before sensor error. */
  oxygen(t: number): number {
    return this.oxygenNoCrash(t) * this.crashFactor(t);
  }

  /** The value a sensor reports for `metric` at `t`, or undefined while it is dropped out. */
  read(metric: string, t: number): number | undefined {
    if (t - this.lastDropoutCheck >= 1000) {
      const seconds = Math.min(60, (t - this.lastDropoutCheck) / 1000);
      this.lastDropoutCheck = t;
      if (t >= this.silentUntil && this.random() < this.dropout * seconds) {
        this.silentUntil = t + 30_000 + this.random() * 90_000;
      }
    }
    if (t < this.silentUntil) return undefined;
    const n = this.noise;
    const days = (t - this.start) / DAY;
    const h = this.hourOfDay(t);
    const temperature = this.temperature(t);
    switch (metric) {
      case 'temperature':
        return round(temperature + 0.05 * n * this.gauss(), 2);
      case 'dissolved_oxygen':
        return round(Math.max(0, this.oxygen(t) + this.drift * days + 0.08 * n * this.gauss()), 2);
      case 'dissolved_oxygen_saturation':
        return round(
          Math.max(0, (this.oxygen(t) / oxygenSaturation(temperature)) * 100 + n * this.gauss()),
          1,
        );
      case 'ph':
        return round(
          this.profile.ph + 0.3 * Math.sin((2 * Math.PI * (h - 10)) / 24) + 0.02 * n * this.gauss(),
          2,
        );
      case 'ammonia_total':
        return round(
          Math.max(0, 0.25 + 0.3 * Math.exp(-this.sinceFeeding(t) / 2) + 0.01 * n * this.gauss()),
          3,
        );
      case 'nitrite':
        return round(Math.max(0, 0.02 + 0.003 * n * this.gauss()), 3);
      case 'nitrate':
        return round(Math.max(0, 20 + 2 * days + 0.3 * n * this.gauss()), 1);
      case 'salinity':
        return round(Math.max(0, this.profile.salinity + 0.05 * n * this.gauss()), 2);
      case 'turbidity':
        return round(
          Math.max(0, 8 + 1.5 * Math.exp(-this.sinceFeeding(t)) + 0.3 * n * this.gauss()),
          1,
        );
      default:
        return undefined;
    }
  }

  /** The next reading of this unit's sensor cycle at time t (undefined while dropped out). */
  next(t: number): { metric: string; value: number } | undefined {
    const metric = SIMULATED_METRICS[this.step % SIMULATED_METRICS.length]!;
    this.step += 1;
    const value = this.read(metric, t);
    return value === undefined ? undefined : { metric, value };
  }
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/** A unit profile from its species' cited ranges (fresh water at 25 C when none is known). */
export function profileFor(species?: {
  temperatureMinC: number | null;
  temperatureMaxC: number | null;
  salinityMinPpt: number | null;
  salinityMaxPpt: number | null;
  phMin: number | null;
  phMax: number | null;
}): UnitProfile {
  const mid = (a: number | null | undefined, b: number | null | undefined, d: number) =>
    a != null && b != null ? (a + b) / 2 : (a ?? b ?? d);
  const tMin = species?.temperatureMinC ?? null;
  const tMax = species?.temperatureMaxC ?? null;
  return {
    temperatureMid: mid(tMin, tMax, 25),
    temperatureSwing: tMin != null && tMax != null ? Math.min(1.5, (tMax - tMin) / 6) : 1,
    salinity: mid(species?.salinityMinPpt, species?.salinityMaxPpt, 0.3),
    ph: Math.min(8.2, mid(species?.phMin, species?.phMax, 7.4)),
  };
}
