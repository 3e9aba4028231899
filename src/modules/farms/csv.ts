/** One CSV field (RFC 4180). Text that a spreadsheet would run as a formula is prefixed with '. */
function field(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  let s = v instanceof Date ? v.toISOString() : String(v);
  if (/^[=+\-@\t\r]/.test(s) && typeof v === 'string') s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** A CSV document: a header line, then one line per row, CRLF line ends. */
export function toCsv<T>(
  columns: [header: string, value: (row: T) => unknown][],
  rows: T[],
): string {
  const lines = [columns.map(([h]) => field(h)).join(',')];
  for (const r of rows) lines.push(columns.map(([, get]) => field(get(r))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
