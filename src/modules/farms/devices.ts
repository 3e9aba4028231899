import { asc, eq } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import type { Database } from '../../db/client.ts';
import { devices, type DeviceKind } from '../../db/schema.ts';
import { type DeviceActor, DEVICE_KEY_PREFIX, type DeviceKeyVerifier } from '../auth/device.ts';
import { hashSecret, newSecret } from '../auth/tokens.ts';
import type { DeviceRow, UnitRow } from './access.ts';

export function toPublicDevice(d: DeviceRow) {
  return {
    id: d.id,
    unit_id: d.unitId,
    farm_id: d.farmId,
    name: d.name,
    kind: d.kind,
    key_prefix: d.keyPrefix,
    enabled: d.disabledAt === null,
    disabled_at: d.disabledAt?.toISOString() ?? null,
    key_rotated_at: d.keyRotatedAt?.toISOString() ?? null,
    last_seen_at: d.lastSeenAt?.toISOString() ?? null,
    created_at: d.createdAt.toISOString(),
  };
}

function newDeviceKey(): { key: string; prefix: string; hash: string } {
  const key = `${DEVICE_KEY_PREFIX}${newSecret(30)}`;
  return { key, prefix: key.slice(0, DEVICE_KEY_PREFIX.length + 8), hash: hashSecret(key) };
}

/**
 * Sensors and cameras with one API key each. The key is shown once (at creation and rotation) and
 * stored as a SHA-256 hash. Resolved keys are cached briefly: the ingest paths (HTTP, MQTT) look a
 * key up per request or connection; disabling or rotating drops the entry in this process at once,
 * other processes within `cacheTtlMs`.
 */
export class DeviceService implements DeviceKeyVerifier {
  private readonly cache: LRUCache<string, DeviceActor | false>;
  /** last_seen_at is written at most once a minute per device, off the hot path. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly db: Database,
    cacheTtlMs = 10_000,
  ) {
    this.cache = new LRUCache({ max: 10_000, ttl: cacheTtlMs });
  }

  async create(
    unit: UnitRow,
    input: { name: string; kind: DeviceKind },
    createdBy: string | null,
  ): Promise<{ row: DeviceRow; key: string }> {
    const k = newDeviceKey();
    const [row] = await this.db
      .insert(devices)
      .values({
        unitId: unit.id,
        farmId: unit.farmId,
        name: input.name,
        kind: input.kind,
        keyPrefix: k.prefix,
        keyHash: k.hash,
        createdBy,
      })
      .returning();
    return { row: row!, key: k.key };
  }

  listByUnit(unitId: string): Promise<DeviceRow[]> {
    return this.db
      .select()
      .from(devices)
      .where(eq(devices.unitId, unitId))
      .orderBy(asc(devices.createdAt), asc(devices.id));
  }

  async update(id: string, patch: { name?: string; enabled?: boolean }): Promise<DeviceRow> {
    const set: Partial<typeof devices.$inferInsert> = { updatedAt: new Date() };
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.enabled !== undefined) set.disabledAt = patch.enabled ? null : new Date();
    const [row] = await this.db.update(devices).set(set).where(eq(devices.id, id)).returning();
    this.cache.clear();
    return row!;
  }

  /** A new key for the device; the old one stops working. */
  async rotate(id: string): Promise<{ row: DeviceRow; key: string }> {
    const k = newDeviceKey();
    const now = new Date();
    const [row] = await this.db
      .update(devices)
      .set({ keyPrefix: k.prefix, keyHash: k.hash, keyRotatedAt: now, updatedAt: now })
      .where(eq(devices.id, id))
      .returning();
    this.cache.clear();
    return { row: row!, key: k.key };
  }

  async delete(id: string): Promise<void> {
    await this.db.delete(devices).where(eq(devices.id, id));
    this.cache.clear();
  }

  /** Forget cached keys (after units or farms were deleted, which cascades to devices). */
  forgetKeys(): void {
    this.cache.clear();
  }

  /**
   * The device a key belongs to, or undefined when the key is unknown, rotated or the device is
   * disabled. With `deviceId` (MQTT: the username), the key must also belong to that device.
   */
  async authenticateDevice(key: string, deviceId?: string): Promise<DeviceActor | undefined> {
    if (!key.startsWith(DEVICE_KEY_PREFIX)) return undefined;
    const hash = hashSecret(key);
    let actor = this.cache.get(hash);
    if (actor === undefined) {
      const [row] = await this.db.select().from(devices).where(eq(devices.keyHash, hash)).limit(1);
      actor =
        row && !row.disabledAt
          ? {
              deviceId: row.id,
              unitId: row.unitId,
              farmId: row.farmId,
              kind: row.kind,
              name: row.name,
            }
          : false;
      this.cache.set(hash, actor);
    }
    if (!actor) return undefined;
    if (deviceId !== undefined && actor.deviceId !== deviceId) return undefined;
    this.markSeen(actor.deviceId);
    return actor;
  }

  private markSeen(id: string): void {
    const now = Date.now();
    if (now - (this.seen.get(id) ?? 0) < 60_000) return;
    this.seen.set(id, now);
    void this.db
      .update(devices)
      .set({ lastSeenAt: new Date(now) })
      .where(eq(devices.id, id))
      .catch(() => this.seen.delete(id));
  }
}
