/**
 * The state of one rule on one series: a condition must hold for `minDurationMs` (in reading
 * time) before the alert opens, and the recovery condition (inside the limits by the hysteresis
 * margin) must hold as long before it resolves. Readings that bounce around a limit therefore
 * neither open nor close anything.
 */
export type Phase = 'normal' | 'tripping' | 'open' | 'clearing';

export type Transition =
  { type: 'open'; since: number } | { type: 'resolve'; since: number } | undefined;

export class Debounce {
  phase: Phase = 'normal';
  /** When the current tripping or clearing phase began (reading time, ms). */
  since = 0;

  constructor(open = false) {
    if (open) this.phase = 'open';
  }

  /**
   * One observation. `bad`: the alert condition holds. `recovered`: the value is back inside by
   * the hysteresis margin (implies !bad).
   */
  step(ts: number, bad: boolean, recovered: boolean, minDurationMs: number): Transition {
    switch (this.phase) {
      case 'normal':
        if (!bad) return undefined;
        this.phase = 'tripping';
        this.since = ts;
        return this.checkOpen(ts, minDurationMs);
      case 'tripping':
        if (!bad) {
          this.phase = 'normal';
          return undefined;
        }
        return this.checkOpen(ts, minDurationMs);
      case 'open':
        if (!recovered) return undefined;
        this.phase = 'clearing';
        this.since = ts;
        return this.checkResolve(ts, minDurationMs);
      case 'clearing':
        if (!recovered) {
          this.phase = 'open';
          return undefined;
        }
        return this.checkResolve(ts, minDurationMs);
    }
  }

  private checkOpen(ts: number, minDurationMs: number): Transition {
    if (ts - this.since < minDurationMs) return undefined;
    this.phase = 'open';
    return { type: 'open', since: this.since };
  }

  private checkResolve(ts: number, minDurationMs: number): Transition {
    if (ts - this.since < minDurationMs) return undefined;
    this.phase = 'normal';
    return { type: 'resolve', since: this.since };
  }
}

/**
 * Least-squares slope of a series over a sliding time window, in value units per hour, kept with
 * running sums so each reading costs O(1) amortised.
 */
export class WindowSlope {
  private readonly ts: number[] = [];
  private readonly vs: number[] = [];
  private head = 0;
  private n = 0;
  private st = 0;
  private sv = 0;
  private stt = 0;
  private stv = 0;
  private origin: number | undefined;

  constructor(private readonly windowMs: number) {}

  add(ts: number, value: number): void {
    this.origin ??= ts;
    const t = (ts - this.origin) / 3_600_000;
    this.ts.push(ts);
    this.vs.push(value);
    this.n += 1;
    this.st += t;
    this.sv += value;
    this.stt += t * t;
    this.stv += t * value;
    while (this.head < this.ts.length && this.ts[this.head]! < ts - this.windowMs) {
      const ot = (this.ts[this.head]! - this.origin) / 3_600_000;
      const ov = this.vs[this.head]!;
      this.n -= 1;
      this.st -= ot;
      this.sv -= ov;
      this.stt -= ot * ot;
      this.stv -= ot * ov;
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.ts.length) {
      this.ts.splice(0, this.head);
      this.vs.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Span of the samples in the window (ms). */
  span(): number {
    return this.n ? this.ts[this.ts.length - 1]! - this.ts[this.head]! : 0;
  }

  /** Slope per hour, or undefined with fewer than 3 samples. */
  slope(): number | undefined {
    if (this.n < 3) return undefined;
    const den = this.n * this.stt - this.st * this.st;
    if (Math.abs(den) < 1e-12) return undefined;
    return (this.n * this.stv - this.st * this.sv) / den;
  }
}
