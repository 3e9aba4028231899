import { and, eq } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { fishSpecies, units, unitThresholds } from '../../db/schema.ts';

/** The metric the rules derive from total ammonia, pH and temperature (see ammonia.ts). */
export const UNIONIZED_AMMONIA = 'ammonia_unionized';

export interface Range {
  min: number | null;
  max: number | null;
  /** Where the limits come from: the species' cited source, or the unit's own override. */
  origin: 'species' | 'unit';
  source?: string;
}

export type Thresholds = Record<string, Range>;

type SpeciesRow = typeof fishSpecies.$inferSelect;

/** The stocked species' cited ranges, per metric name (un-ionized ammonia derived). */
export function speciesThresholds(s: SpeciesRow): Thresholds {
  const out: Thresholds = {};
  const put = (metric: string, min: number | null, max: number | null, source: string) => {
    if (min !== null || max !== null) out[metric] = { min, max, origin: 'species', source };
  };
  put('temperature', s.temperatureMinC, s.temperatureMaxC, s.temperatureSource);
  put(
    'dissolved_oxygen',
    s.dissolvedOxygenMinMgL,
    s.dissolvedOxygenMaxMgL,
    s.dissolvedOxygenSource,
  );
  put('ph', s.phMin, s.phMax, s.phSource);
  put(UNIONIZED_AMMONIA, null, s.ammoniaMaxMgL, s.ammoniaSource);
  put('nitrite', null, s.nitriteMaxMgL, s.nitriteSource);
  put('salinity', s.salinityMinPpt, s.salinityMaxPpt, s.salinitySource);
  return out;
}

/** A unit's effective thresholds: its species' ranges, each replaced by the unit's override. */
export async function loadThresholds(db: Database, unitId: string): Promise<Thresholds> {
  const [unit] = await db
    .select({ species: fishSpecies })
    .from(units)
    .leftJoin(fishSpecies, eq(fishSpecies.code, units.speciesCode))
    .where(eq(units.id, unitId));
  const out: Thresholds = unit?.species ? speciesThresholds(unit.species) : {};
  const overrides = await db.select().from(unitThresholds).where(eq(unitThresholds.unitId, unitId));
  for (const o of overrides) {
    if (o.min === null && o.max === null) delete out[o.metric];
    else out[o.metric] = { min: o.min, max: o.max, origin: 'unit' };
  }
  return out;
}

export async function setThreshold(
  db: Database,
  unitId: string,
  metric: string,
  range: { min: number | null; max: number | null },
  userId: string | null,
): Promise<void> {
  await db
    .insert(unitThresholds)
    .values({ unitId, metric, min: range.min, max: range.max, updatedBy: userId })
    .onConflictDoUpdate({
      target: [unitThresholds.unitId, unitThresholds.metric],
      set: { min: range.min, max: range.max, updatedBy: userId, updatedAt: new Date() },
    });
}

export async function clearThreshold(db: Database, unitId: string, metric: string): Promise<void> {
  await db
    .delete(unitThresholds)
    .where(and(eq(unitThresholds.unitId, unitId), eq(unitThresholds.metric, metric)));
}
