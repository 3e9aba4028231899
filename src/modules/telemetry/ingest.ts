import type { TelemetryPipeline } from './pipeline.ts';
import type { DeviceActor, IngestResult, Reading, ReadingInput } from './reading.ts';
import type { TelemetryMetrics } from './telemetry-metrics.ts';
import { validateReading, type ValidationOptions } from './validate.ts';

export type Door = 'http' | 'mqtt' | 'simulator';

/** The common door of every reading: validate each, count and report the refused, pass on the rest. */
export class TelemetryIngest {
  constructor(
    private readonly pipeline: TelemetryPipeline,
    private readonly metrics: TelemetryMetrics,
    private readonly validation: ValidationOptions,
  ) {}

  /** Resolves once the accepted readings are durable (see TelemetryPipeline.submit). */
  async ingest(
    device: DeviceActor,
    inputs: readonly ReadingInput[],
    door: Door,
  ): Promise<IngestResult> {
    const now = Date.now();
    const accepted: Reading[] = [];
    const errors: IngestResult['errors'] = [];
    inputs.forEach((input, index) => {
      const v = validateReading(input, device, this.validation, now);
      if (v.ok) accepted.push(v.reading);
      else {
        errors.push({ index, reason: v.reason });
        this.metrics.rejected.inc({ door, reason: v.code });
      }
    });
    await this.pipeline.submit(accepted);
    this.metrics.accepted.inc({ door }, accepted.length);
    return { accepted: accepted.length, rejected: errors.length, errors };
  }

  /** Counts a reading refused before validation (bad topic, unknown device, unreadable payload). */
  refuse(door: Door, reason: string): void {
    this.metrics.rejected.inc({ door, reason });
  }
}
