import type { Database } from '../../db/client.ts';
import { fishSpecies } from '../../db/schema.ts';
import { speciesSeed } from './seed-data.ts';

/** Inserts the seed species that are missing; rows an operator has edited are left alone. */
export async function seedSpecies(db: Database): Promise<number> {
  const rows = speciesSeed.map((s) => ({
    code: s.code,
    commonName: s.commonName,
    scientificName: s.scientificName,
    category: s.category,
    environment: s.environment,
    description: s.description,
    temperatureMinC: s.temperatureC.min,
    temperatureMaxC: s.temperatureC.max,
    temperatureSource: s.temperatureC.source,
    dissolvedOxygenMinMgL: s.dissolvedOxygenMgL.min,
    dissolvedOxygenMaxMgL: s.dissolvedOxygenMgL.max,
    dissolvedOxygenSource: s.dissolvedOxygenMgL.source,
    phMin: s.ph.min,
    phMax: s.ph.max,
    phSource: s.ph.source,
    ammoniaMaxMgL: s.ammoniaMgL.max,
    ammoniaSource: s.ammoniaMgL.source,
    nitriteMaxMgL: s.nitriteMgL.max,
    nitriteSource: s.nitriteMgL.source,
    salinityMinPpt: s.salinityPpt.min,
    salinityMaxPpt: s.salinityPpt.max,
    salinitySource: s.salinityPpt.source,
  }));
  const inserted = await db
    .insert(fishSpecies)
    .values(rows)
    .onConflictDoNothing({ target: fishSpecies.code })
    .returning({ id: fishSpecies.id });
  return inserted.length;
}
