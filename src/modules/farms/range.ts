import { FarmInputError } from './errors.ts';

/** A period from the query string (`from`, `to`, ISO 8601); `to` defaults to now. */
export function rangeOf(
  q: { from?: string; to?: string },
  opts: { optional: true },
): { from?: Date; to?: Date };
export function rangeOf(q: { from?: string; to?: string }): { from: Date; to: Date };
export function rangeOf(
  q: { from?: string; to?: string },
  opts?: { optional: true },
): { from?: Date; to?: Date } {
  const from = q.from ? new Date(q.from) : undefined;
  const to = q.to ? new Date(q.to) : opts?.optional ? undefined : new Date();
  if (!opts?.optional && !from) throw new FarmInputError('querystring.from', 'from is required');
  if (from && to && from > to) {
    throw new FarmInputError('querystring.from', 'from must not be after to');
  }
  return { from, to };
}
