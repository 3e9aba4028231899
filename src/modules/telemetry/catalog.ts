/**
 * The metrics a sensor may report, each in one unit of measure, with the bounds outside which a
 * value is physically impossible (a broken probe or a wrong unit), not merely bad water.
 */
export interface MetricSpec {
  readonly name: string;
  /** The unit of measure readings are stored in. */
  readonly unit: string;
  /** Other spellings of that unit a device may send; anything else is rejected. */
  readonly unitAliases: readonly string[];
  readonly min: number;
  readonly max: number;
  readonly description: string;
}

const spec = (
  name: string,
  unit: string,
  unitAliases: string[],
  min: number,
  max: number,
  description: string,
): MetricSpec => ({ name, unit, unitAliases, min, max, description });

export const METRICS: readonly MetricSpec[] = [
  // Liquid water at farm pressures: below about -3 C (sea water freezes near -2) or above 50 C is a fault.
  spec('temperature', 'C', ['c', '°c', 'degc', 'celsius'], -5, 50, 'Water temperature'),
  // Supersaturation with pure oxygen injection stays well under 60 mg/L.
  spec('dissolved_oxygen', 'mg/L', ['mg/l', 'mgl', 'ppm'], 0, 60, 'Dissolved oxygen'),
  spec(
    'dissolved_oxygen_saturation',
    '%',
    ['%', 'percent', 'pct'],
    0,
    500,
    'Dissolved oxygen as % of air saturation',
  ),
  spec('ph', 'pH', ['ph', ''], 0, 14, 'pH'),
  spec(
    'ammonia_total',
    'mg/L',
    ['mg/l', 'mgl', 'ppm'],
    0,
    1000,
    'Total ammonia nitrogen (NH3-N + NH4+-N)',
  ),
  spec('nitrite', 'mg/L', ['mg/l', 'mgl', 'ppm'], 0, 1000, 'Nitrite (NO2-)'),
  spec('nitrate', 'mg/L', ['mg/l', 'mgl', 'ppm'], 0, 10_000, 'Nitrate (NO3-)'),
  // Saturated brine holds about 360 ppt.
  spec('salinity', 'ppt', ['ppt', 'psu', 'g/kg', '‰'], 0, 360, 'Salinity'),
  spec('turbidity', 'NTU', ['ntu', 'fnu'], 0, 10_000, 'Turbidity'),
];

export const METRIC_NAMES = METRICS.map((m) => m.name);

const byName = new Map(METRICS.map((m) => [m.name, m]));

export function metricSpec(name: string): MetricSpec | undefined {
  return byName.get(name);
}
