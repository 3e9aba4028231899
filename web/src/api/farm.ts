import type { Alert } from './types.ts';

/** Sensor metrics (issue 10 contract) with display names, units and the species range key. */
export const METRICS: { name: string; label: string; unit: string; range?: string }[] = [
  { name: 'temperature', label: 'Temperature', unit: ' °C', range: 'temperature_c' },
  {
    name: 'dissolved_oxygen',
    label: 'Dissolved oxygen',
    unit: ' mg/L',
    range: 'dissolved_oxygen_mg_l',
  },
  { name: 'ph', label: 'pH', unit: '', range: 'ph' },
  { name: 'ammonia_total', label: 'Total ammonia', unit: ' mg/L' },
  { name: 'nitrite', label: 'Nitrite', unit: ' mg/L', range: 'nitrite_mg_l' },
  { name: 'nitrate', label: 'Nitrate', unit: ' mg/L' },
  { name: 'salinity', label: 'Salinity', unit: ' ppt', range: 'salinity_ppt' },
  { name: 'turbidity', label: 'Turbidity', unit: ' NTU' },
];

export type Severity = Alert['severity'];
const RANK: Record<Severity, number> = { info: 1, warning: 2, critical: 3 };

/** The worst severity among open alerts, or null when none are open. */
export function worst(alerts: Alert[]): Severity | null {
  let w: Severity | null = null;
  for (const a of alerts) if (!w || RANK[a.severity] > RANK[w]) w = a.severity;
  return w;
}

export const SEVERITY_COLOUR: Record<Severity | 'none', 'success' | 'info' | 'warning' | 'error'> =
  {
    none: 'success',
    info: 'info',
    warning: 'warning',
    critical: 'error',
  };
