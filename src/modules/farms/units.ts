import { asc, eq } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { fishSpecies, unitLogs, units, type UnitKind } from '../../db/schema.ts';
import type { UnitRow } from './access.ts';
import { FarmConflictError, FarmEntityNotFoundError, FarmInputError } from './errors.ts';

export function toPublicUnit(u: UnitRow) {
  return {
    id: u.id,
    farm_id: u.farmId,
    name: u.name,
    kind: u.kind,
    volume_m3: u.volumeM3,
    species: u.speciesCode,
    stocked_count: u.stockedCount,
    stocked_mean_weight_g: u.stockedMeanWeightG,
    stocked_at: u.stockedAt?.toISOString() ?? null,
    created_at: u.createdAt.toISOString(),
    updated_at: u.updatedAt.toISOString(),
  };
}

export interface UnitInput {
  name: string;
  kind: UnitKind;
  species?: string | null;
  volume_m3?: number | null;
  stocked_count?: number | null;
  stocked_mean_weight_g?: number | null;
  stocked_at?: string | null;
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.code === '23505' || e?.cause?.code === '23505';
}

/** Units (tanks, pens, ponds, raceways, cages) of a farm. Callers check access first. */
export class UnitService {
  constructor(private readonly db: Database) {}

  private async checkSpecies(code: string | null | undefined, field: string): Promise<void> {
    if (!code) return;
    const [row] = await this.db
      .select({ code: fishSpecies.code })
      .from(fishSpecies)
      .where(eq(fishSpecies.code, code))
      .limit(1);
    if (!row) {
      throw new FarmInputError(
        field,
        `${field} must be a species code of /api/v1/species, such as nile-tilapia`,
      );
    }
  }

  /**
   * Creates a unit. When it comes stocked (stocked_count), the stocking is also written to the
   * unit's log, since the KPIs count fish from the log.
   */
  async create(farmId: string, input: UnitInput, by: string | null): Promise<UnitRow> {
    await this.checkSpecies(input.species, 'body.species');
    const stockedAt = input.stocked_at ? new Date(input.stocked_at) : null;
    try {
      return await this.db.transaction(async (tx) => {
        const [row] = await tx
          .insert(units)
          .values({
            farmId,
            name: input.name,
            kind: input.kind,
            speciesCode: input.species ?? null,
            volumeM3: input.volume_m3 ?? null,
            stockedCount: input.stocked_count ?? null,
            stockedMeanWeightG: input.stocked_mean_weight_g ?? null,
            stockedAt: input.stocked_count ? (stockedAt ?? new Date()) : stockedAt,
          })
          .returning();
        if (row!.stockedCount) {
          await tx.insert(unitLogs).values({
            unitId: row!.id,
            farmId,
            kind: 'stocking',
            occurredAt: row!.stockedAt!,
            count: row!.stockedCount,
            meanWeightG: row!.stockedMeanWeightG,
            note: 'stocked when the unit was created',
            createdBy: by,
            updatedBy: by,
          });
        }
        return row!;
      });
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new FarmConflictError(
          'body.name',
          `The farm already has a unit named "${input.name}"`,
        );
      }
      throw err;
    }
  }

  listByFarm(farmId: string): Promise<UnitRow[]> {
    return this.db
      .select()
      .from(units)
      .where(eq(units.farmId, farmId))
      .orderBy(asc(units.name), asc(units.id));
  }

  async update(id: string, patch: Partial<UnitInput>): Promise<UnitRow> {
    await this.checkSpecies(patch.species, 'body.species');
    const set: Partial<typeof units.$inferInsert> = { updatedAt: new Date() };
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.kind !== undefined) set.kind = patch.kind;
    if (patch.species !== undefined) set.speciesCode = patch.species;
    if (patch.volume_m3 !== undefined) set.volumeM3 = patch.volume_m3;
    if (patch.stocked_count !== undefined) set.stockedCount = patch.stocked_count;
    if (patch.stocked_mean_weight_g !== undefined)
      set.stockedMeanWeightG = patch.stocked_mean_weight_g;
    if (patch.stocked_at !== undefined) {
      set.stockedAt = patch.stocked_at ? new Date(patch.stocked_at) : null;
    }
    try {
      const [row] = await this.db.update(units).set(set).where(eq(units.id, id)).returning();
      if (!row) throw new FarmEntityNotFoundError('unit', id);
      return row;
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new FarmConflictError(
          'body.name',
          `The farm already has a unit named "${patch.name}"`,
        );
      }
      throw err;
    }
  }

  async delete(id: string): Promise<void> {
    await this.db.delete(units).where(eq(units.id, id));
  }
}
