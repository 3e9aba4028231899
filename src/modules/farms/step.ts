import { FarmInputError } from './errors.ts';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
/** Steps picked when the caller names none: the smallest giving at most MAX_AUTO buckets. */
const AUTO_STEPS = [60, 300, 900, 3600, 6 * 3600, 86_400, 7 * 86_400];
const MAX_AUTO = 200;
export const MAX_BUCKETS = 2_000;

/**
 * A bucket width in seconds from `step` (`30s`, `5m`, `1h`, `1d` or plain seconds); without one,
 * a width that gives at most 200 buckets over the period.
 */
export function stepSeconds(step: string | undefined, from: Date, to: Date): number {
  const span = Math.max(1, (to.getTime() - from.getTime()) / 1000);
  if (!step) return AUTO_STEPS.find((s) => span / s <= MAX_AUTO) ?? 30 * 86_400;
  const m = /^(\d{1,7})([smhd]?)$/.exec(step.trim());
  if (!m || Number(m[1]) === 0) {
    throw new FarmInputError('querystring.step', 'step must look like 30s, 5m, 1h, 1d or seconds');
  }
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2] || 's']!;
  if (span / seconds > MAX_BUCKETS) {
    throw new FarmInputError(
      'querystring.step',
      `step is too small for the period: at most ${MAX_BUCKETS} buckets`,
    );
  }
  return seconds;
}
