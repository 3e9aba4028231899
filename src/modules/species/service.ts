import { asc, eq } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { fishSpecies } from '../../db/schema.ts';

export type SpeciesRow = typeof fishSpecies.$inferSelect;

export interface Range {
  min: number | null;
  max: number | null;
  source: string;
}

export interface PublicSpecies {
  id: string;
  code: string;
  common_name: string;
  scientific_name: string;
  category: 'reef' | 'farmed';
  environment: 'freshwater' | 'brackish' | 'marine';
  description: string;
  water_quality: {
    temperature_c: Range;
    dissolved_oxygen_mg_l: Range;
    ph: Range;
    ammonia_mg_l: Range;
    nitrite_mg_l: Range;
    salinity_ppt: Range;
  };
}

export type WaterQualityKey = keyof PublicSpecies['water_quality'];

/** Column names behind each range, so updates and reads share one mapping. */
const COLUMNS = {
  temperature_c: ['temperatureMinC', 'temperatureMaxC', 'temperatureSource'],
  dissolved_oxygen_mg_l: [
    'dissolvedOxygenMinMgL',
    'dissolvedOxygenMaxMgL',
    'dissolvedOxygenSource',
  ],
  ph: ['phMin', 'phMax', 'phSource'],
  ammonia_mg_l: [null, 'ammoniaMaxMgL', 'ammoniaSource'],
  nitrite_mg_l: [null, 'nitriteMaxMgL', 'nitriteSource'],
  salinity_ppt: ['salinityMinPpt', 'salinityMaxPpt', 'salinitySource'],
} as const satisfies Record<
  WaterQualityKey,
  readonly [keyof SpeciesRow | null, keyof SpeciesRow, keyof SpeciesRow]
>;

export const WATER_QUALITY_KEYS = Object.keys(COLUMNS) as WaterQualityKey[];

export function toPublicSpecies(row: SpeciesRow): PublicSpecies {
  const wq = {} as PublicSpecies['water_quality'];
  for (const key of WATER_QUALITY_KEYS) {
    const [min, max, source] = COLUMNS[key];
    wq[key] = {
      min: min ? (row[min] as number | null) : null,
      max: row[max] as number | null,
      source: row[source] as string,
    };
  }
  return {
    id: row.id,
    code: row.code,
    common_name: row.commonName,
    scientific_name: row.scientificName,
    category: row.category,
    environment: row.environment,
    description: row.description,
    water_quality: wq,
  };
}

export class SpeciesService {
  constructor(private readonly db: Database) {}

  list(): Promise<SpeciesRow[]> {
    return this.db
      .select()
      .from(fishSpecies)
      .orderBy(asc(fishSpecies.category), asc(fishSpecies.code));
  }

  async byCode(code: string): Promise<SpeciesRow | undefined> {
    const [row] = await this.db
      .select()
      .from(fishSpecies)
      .where(eq(fishSpecies.code, code))
      .limit(1);
    return row;
  }

  /** Applies new ranges; a range's source must come with it, so every number stays cited. */
  async updateRanges(
    code: string,
    ranges: Partial<Record<WaterQualityKey, Range>>,
  ): Promise<SpeciesRow | undefined> {
    const set: Record<string, unknown> = { updatedAt: new Date() };
    for (const [key, range] of Object.entries(ranges) as [WaterQualityKey, Range][]) {
      const [min, max, source] = COLUMNS[key];
      if (min) set[min] = range.min;
      set[max] = range.max;
      set[source] = range.source;
    }
    const [row] = await this.db
      .update(fishSpecies)
      .set(set)
      .where(eq(fishSpecies.code, code))
      .returning();
    return row;
  }
}
