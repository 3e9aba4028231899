import { metricSpec } from './catalog.ts';
import type { DeviceActor, Reading, ReadingInput } from './reading.ts';

export interface ValidationOptions {
  /** Readings stamped further ahead of the server clock than this are rejected. */
  maxFutureSkewMs: number;
  /** And older than this (a device with a reset clock sends 1970). */
  maxAgeMs: number;
}

export type RejectCode =
  | 'invalid'
  | 'unknown_metric'
  | 'unknown_unit'
  | 'invalid_value'
  | 'impossible_value'
  | 'invalid_ts'
  | 'future_ts'
  | 'stale_ts';

export type Validated =
  { ok: true; reading: Reading } | { ok: false; code: RejectCode; reason: string };

const reject = (code: RejectCode, reason: string): Validated => ({ ok: false, code, reason });

/** Parses an ISO 8601 string or epoch milliseconds; undefined means "now". */
function parseTs(ts: unknown, now: number): number | string {
  if (ts === undefined || ts === null) return now;
  if (typeof ts === 'number') return Number.isFinite(ts) ? ts : 'ts is not a finite number';
  if (typeof ts !== 'string') return 'ts must be an ISO 8601 string or epoch milliseconds';
  // Date.parse accepts forms like "1" or "March 3"; require a date-time with a zone.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(ts)) {
    return 'ts must be an ISO 8601 date-time with a time zone, e.g. 2026-01-01T12:00:00Z';
  }
  const ms = Date.parse(ts);
  return Number.isFinite(ms) ? ms : 'ts is not a valid date-time';
}

/** Checks one reading: known metric and unit of measure, a physically possible value, a sane time. */
export function validateReading(
  input: ReadingInput,
  device: DeviceActor,
  options: ValidationOptions,
  now = Date.now(),
): Validated {
  if (typeof input !== 'object' || input === null) return reject('invalid', 'not an object');
  if (typeof input.metric !== 'string') return reject('unknown_metric', 'metric is required');
  const spec = metricSpec(input.metric);
  if (!spec) return reject('unknown_metric', `unknown metric "${input.metric.slice(0, 64)}"`);
  if (input.unit !== undefined && input.unit !== null) {
    const unit = String(input.unit).trim().toLowerCase();
    if (unit !== spec.unit.toLowerCase() && !spec.unitAliases.includes(unit)) {
      return reject(
        'unknown_unit',
        `unknown unit of measure "${String(input.unit).slice(0, 32)}" for ${spec.name} (send ${spec.unit})`,
      );
    }
  }
  const value = input.value;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return reject('invalid_value', 'value must be a finite number');
  }
  if (value < spec.min || value > spec.max) {
    return reject(
      'impossible_value',
      `${spec.name} ${value} ${spec.unit} is physically impossible (${spec.min}..${spec.max})`,
    );
  }
  const ts = parseTs(input.ts, now);
  if (typeof ts === 'string') return reject('invalid_ts', ts);
  if (ts > now + options.maxFutureSkewMs) {
    return reject('future_ts', 'ts is in the future beyond the allowed clock skew');
  }
  if (ts < now - options.maxAgeMs)
    return reject('stale_ts', 'ts is older than the raw-data retention');
  return {
    ok: true,
    reading: {
      deviceId: device.deviceId,
      unitId: device.unitId,
      farmId: device.farmId,
      metric: spec.name,
      ts: Math.trunc(ts),
      value,
    },
  };
}
