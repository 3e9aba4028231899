export const pct = (x: number | null | undefined, digits = 1): string =>
  x === null || x === undefined || Number.isNaN(x) ? '—' : `${(x * 100).toFixed(digits)} %`;

export const ms = (x: number | null | undefined): string =>
  x === null || x === undefined ? '—' : x < 10 ? `${x.toFixed(2)} ms` : `${x.toFixed(0)} ms`;

export const num = (x: number | null | undefined, digits = 2): string =>
  x === null || x === undefined ? '—' : Number(x.toFixed(digits)).toLocaleString();

export const when = (iso: string | null | undefined): string =>
  iso ? new Date(iso).toLocaleString() : '—';

export function duration(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return d ? `${d}d ${h}h ${m}m` : h ? `${h}h ${m}m` : m ? `${m}m ${s}s` : `${s}s`;
}

/** "chaetodon-trifascialis" -> "Chaetodon trifascialis" when no common name is known. */
export const labelText = (label: string): string =>
  label.charAt(0).toUpperCase() + label.slice(1).replaceAll('-', ' ');
