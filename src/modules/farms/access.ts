import { and, eq } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import type { unitLogs } from '../../db/schema.ts';
import { devices, farmMembers, farms, type FarmRole, units } from '../../db/schema.ts';
import type { Principal } from '../auth/authenticator.ts';
import { FarmEntityNotFoundError, FarmRoleError } from './errors.ts';

export type FarmRow = typeof farms.$inferSelect;
export type UnitRow = typeof units.$inferSelect;
export type DeviceRow = typeof devices.$inferSelect;
export type UnitLogRow = typeof unitLogs.$inferSelect;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Where a prediction comes from: the caller's unit label, and the farm unit it names, if any. */
export interface UnitRef {
  unitId: string | null;
  farmUnitId: string | null;
  farmId: string | null;
}

const FARM_ROLE_RANK: Record<FarmRole, number> = { viewer: 0, operator: 1, manager: 2 };

/** What a caller may see: every farm (admins) or the farms they are a member of. */
export type FarmScope = { all: true } | { all: false; farmIds: string[] };

/**
 * Membership checks for everything farm-scoped. A farm the caller is not a member of answers as
 * if it did not exist (404), so ids of other farms reveal nothing; a member whose farm role is
 * too low gets 403. Admins (users and admin API keys) act as managers of every farm.
 */
export class FarmAccess {
  constructor(private readonly db: Database) {}

  private isAdmin(p: Principal): boolean {
    return p.kind !== 'device' && p.role === 'admin';
  }

  /** The caller's role on a farm, or undefined when they may not see it. */
  async roleOn(p: Principal, farmId: string): Promise<FarmRole | undefined> {
    if (this.isAdmin(p)) return 'manager';
    if (p.kind === 'device') return p.device?.farmId === farmId ? 'viewer' : undefined;
    if (!p.userId) return undefined;
    const [row] = await this.db
      .select({ role: farmMembers.role })
      .from(farmMembers)
      .where(and(eq(farmMembers.farmId, farmId), eq(farmMembers.userId, p.userId)))
      .limit(1);
    return row?.role;
  }

  async scope(p: Principal): Promise<FarmScope> {
    if (this.isAdmin(p)) return { all: true };
    if (p.kind === 'device') return { all: false, farmIds: p.device ? [p.device.farmId] : [] };
    if (!p.userId) return { all: false, farmIds: [] };
    const rows = await this.db
      .select({ farmId: farmMembers.farmId })
      .from(farmMembers)
      .where(eq(farmMembers.userId, p.userId));
    return { all: false, farmIds: rows.map((r) => r.farmId) };
  }

  private check(role: FarmRole | undefined, need: FarmRole, entity: 'farm' | 'unit', id: string) {
    if (!role) throw new FarmEntityNotFoundError(entity, id);
    if (FARM_ROLE_RANK[role] < FARM_ROLE_RANK[need]) {
      throw new FarmRoleError(`This action needs the ${need} role on the farm; you are ${role}`);
    }
    return role;
  }

  /** The farm, when the caller has at least `need` on it. */
  async farm(
    p: Principal,
    farmId: string,
    need: FarmRole = 'viewer',
  ): Promise<{ farm: FarmRow; role: FarmRole }> {
    const [farm] = await this.db.select().from(farms).where(eq(farms.id, farmId)).limit(1);
    if (!farm) throw new FarmEntityNotFoundError('farm', farmId);
    const role = this.check(await this.roleOn(p, farmId), need, 'farm', farmId);
    return { farm, role };
  }

  /** The unit, when the caller has at least `need` on its farm. A device sees its own unit only. */
  async unit(
    p: Principal,
    unitId: string,
    need: FarmRole = 'viewer',
  ): Promise<{ unit: UnitRow; role: FarmRole }> {
    const [unit] = await this.db.select().from(units).where(eq(units.id, unitId)).limit(1);
    if (!unit) throw new FarmEntityNotFoundError('unit', unitId);
    if (p.kind === 'device' && p.device?.unitId !== unitId) {
      throw new FarmEntityNotFoundError('unit', unitId);
    }
    const role = this.check(await this.roleOn(p, unit.farmId), need, 'unit', unitId);
    return { unit, role };
  }

  /**
   * A classify request's unit_id. A farm unit's id attaches the prediction to that unit and its
   * farm, for the farm's operators only (others get 404, as for the unit itself); any other text
   * stays a free label, as before farms existed.
   */
  async unitRef(
    p: Principal,
    unitId: string | null | undefined,
    need: FarmRole = 'operator',
  ): Promise<UnitRef> {
    if (!unitId) return { unitId: null, farmUnitId: null, farmId: null };
    if (!UUID.test(unitId)) return { unitId, farmUnitId: null, farmId: null };
    const { unit } = await this.unit(p, unitId.toLowerCase(), need);
    return { unitId: unit.id, farmUnitId: unit.id, farmId: unit.farmId };
  }

  /** The device, when the caller has at least `need` on its farm. */
  async device(p: Principal, deviceId: string, need: FarmRole = 'viewer'): Promise<DeviceRow> {
    const [device] = await this.db.select().from(devices).where(eq(devices.id, deviceId)).limit(1);
    const role = device ? await this.roleOn(p, device.farmId) : undefined;
    if (!device || !role) throw new FarmEntityNotFoundError('device', deviceId);
    this.check(role, need, 'farm', device.farmId);
    return device;
  }
}
