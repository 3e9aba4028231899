import { and, asc, count, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { farmMembers, farms, type FarmRole, units, users } from '../../db/schema.ts';
import type { FarmRow, FarmScope } from './access.ts';
import { FarmConflictError, FarmEntityNotFoundError, FarmInputError } from './errors.ts';

/** A farm's time zone must be one the runtime knows (IANA, e.g. Africa/Accra). */
function checkTimezone(tz: string | undefined): void {
  if (tz === undefined) return;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
  } catch {
    throw new FarmInputError(
      'body.timezone',
      `${tz} is not an IANA time zone such as Africa/Accra`,
    );
  }
}

export function toPublicFarm(f: FarmRow, role: FarmRole | null, unitCount?: number) {
  return {
    id: f.id,
    name: f.name,
    location: f.location,
    description: f.description,
    timezone: f.timezone,
    created_at: f.createdAt.toISOString(),
    updated_at: f.updatedAt.toISOString(),
    /** The caller's role on this farm. */
    role,
    ...(unitCount === undefined ? {} : { unit_count: unitCount }),
  };
}

export interface FarmInput {
  name: string;
  location?: string | null;
  description?: string | null;
  timezone?: string;
}

/** Farms and their members. Callers check access first (FarmAccess). */
export class FarmService {
  constructor(private readonly db: Database) {}

  /** Creates a farm; its creator (a user) becomes its manager. */
  async create(input: FarmInput, createdBy: string | null): Promise<FarmRow> {
    checkTimezone(input.timezone);
    return this.db.transaction(async (tx) => {
      const [farm] = await tx
        .insert(farms)
        .values({
          name: input.name,
          location: input.location ?? null,
          description: input.description ?? null,
          timezone: input.timezone ?? 'UTC',
          createdBy,
        })
        .returning();
      if (createdBy) {
        await tx
          .insert(farmMembers)
          .values({ farmId: farm!.id, userId: createdBy, role: 'manager' });
      }
      return farm!;
    });
  }

  async list(scope: FarmScope, userId: string | null) {
    if (!scope.all && scope.farmIds.length === 0) return [];
    const unitCount = this.db
      .select({ farmId: units.farmId, n: count().as('n') })
      .from(units)
      .groupBy(units.farmId)
      .as('unit_count');
    const rows = await this.db
      .select({
        farm: farms,
        units: sql<number>`coalesce(${unitCount.n}, 0)`,
        role: farmMembers.role,
      })
      .from(farms)
      .leftJoin(unitCount, eq(unitCount.farmId, farms.id))
      .leftJoin(
        farmMembers,
        and(eq(farmMembers.farmId, farms.id), eq(farmMembers.userId, userId ?? sql`null`)),
      )
      .where(scope.all ? undefined : inArray(farms.id, scope.farmIds))
      .orderBy(asc(farms.name), asc(farms.id));
    return rows.map((r) => ({ farm: r.farm, units: Number(r.units), memberRole: r.role }));
  }

  async update(id: string, patch: Partial<FarmInput>): Promise<FarmRow> {
    checkTimezone(patch.timezone);
    const [row] = await this.db
      .update(farms)
      .set({ ...patch, updatedAt: new Date() })
      .where(eq(farms.id, id))
      .returning();
    if (!row) throw new FarmEntityNotFoundError('farm', id);
    return row;
  }

  async delete(id: string): Promise<void> {
    await this.db.delete(farms).where(eq(farms.id, id));
  }

  async members(farmId: string) {
    return this.db
      .select({
        userId: farmMembers.userId,
        role: farmMembers.role,
        createdAt: farmMembers.createdAt,
        username: users.username,
        email: users.email,
      })
      .from(farmMembers)
      .innerJoin(users, eq(users.id, farmMembers.userId))
      .where(eq(farmMembers.farmId, farmId))
      .orderBy(asc(users.username));
  }

  /** A farm keeps at least one manager, so members can still run it without an admin. */
  private async keepsAManager(farmId: string, userId: string): Promise<void> {
    const managers = await this.db
      .select({ userId: farmMembers.userId })
      .from(farmMembers)
      .where(and(eq(farmMembers.farmId, farmId), eq(farmMembers.role, 'manager')));
    if (managers.length === 1 && managers[0]!.userId === userId) {
      throw new FarmConflictError('params.userId', 'The farm needs another manager first');
    }
  }

  /** Adds a member or changes their role. */
  async setMember(farmId: string, userId: string, role: FarmRole): Promise<void> {
    const [user] = await this.db.select({ id: users.id }).from(users).where(eq(users.id, userId));
    if (!user) throw new FarmEntityNotFoundError('user', userId);
    if (role !== 'manager') await this.keepsAManager(farmId, userId);
    await this.db
      .insert(farmMembers)
      .values({ farmId, userId, role })
      .onConflictDoUpdate({ target: [farmMembers.farmId, farmMembers.userId], set: { role } });
  }

  async removeMember(farmId: string, userId: string): Promise<void> {
    await this.keepsAManager(farmId, userId);
    const removed = await this.db
      .delete(farmMembers)
      .where(and(eq(farmMembers.farmId, farmId), eq(farmMembers.userId, userId)))
      .returning({ userId: farmMembers.userId });
    if (!removed.length) throw new FarmEntityNotFoundError('member', userId);
  }
}
