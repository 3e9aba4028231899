/** True when a database error is a unique-constraint violation (SQLSTATE 23505), on PostgreSQL or PGlite. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.code === '23505' || e?.cause?.code === '23505';
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);

/**
 * True when a database error means the server could not be reached or went away (refused or
 * dropped connection, SQLSTATE class 08, shutdown 57P01-57P03), looking through wrapping errors'
 * causes: the request may succeed once the database is back, unlike a query it refused.
 */
export function isConnectionFailure(err: unknown): boolean {
  for (
    let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 8;
    e = e.cause as typeof e, depth++
  ) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (CONNECTION_CODES.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code)) {
      return true;
    }
    // node-postgres ends a dropped connection's queries with this message and no code.
    if (typeof e.message === 'string' && /Connection terminated/.test(e.message)) return true;
  }
  return false;
}

/** True when a write failed for lack of disk space (SQLSTATE 53100, or ENOSPC from the file system). */
export function isDiskFull(err: unknown): boolean {
  for (
    let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 8;
    e = e.cause as typeof e, depth++
  ) {
    if (e.code === '53100' || e.code === 'ENOSPC') return true;
  }
  return false;
}
