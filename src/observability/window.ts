/** The last `capacity` samples, for exact percentiles of recent traffic without unbounded memory. */
export class SampleWindow {
  private readonly samples: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(capacity = 10_000) {
    this.samples = new Float64Array(capacity);
  }

  record(value: number): void {
    this.samples[this.next] = value;
    this.next = (this.next + 1) % this.samples.length;
    if (this.filled < this.samples.length) this.filled += 1;
  }

  get size(): number {
    return this.filled;
  }

  /** Percentiles (0-100) of the window, by nearest rank; null when empty. */
  percentiles(...ps: number[]): (number | null)[] {
    if (!this.filled) return ps.map(() => null);
    const sorted = Array.from(this.samples.subarray(0, this.filled)).sort((a, b) => a - b);
    return ps.map((p) => {
      const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
      return Math.round(sorted[i]! * 1000) / 1000;
    });
  }

  mean(): number | null {
    if (!this.filled) return null;
    let sum = 0;
    for (let i = 0; i < this.filled; i++) sum += this.samples[i]!;
    return sum / this.filled;
  }

  values(): Float64Array {
    return this.samples.slice(0, this.filled);
  }
}
