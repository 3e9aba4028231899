// Farms, their units (tank, pen, pond ...), the devices in them and the operators' logs per unit.
import { sql } from 'drizzle-orm';
import {
  doublePrecision,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { fishSpecies, users } from './schema.ts';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();
const id = () =>
  uuid('id')
    .primaryKey()
    .default(sql`gen_random_uuid()`);

export const farms = pgTable('farms', {
  id: id(),
  name: text('name').notNull(),
  location: text('location'),
  description: text('description'),
  /** IANA time zone of the site, for day boundaries in reports. */
  timezone: text('timezone').notNull().default('UTC'),
  createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** What a member may do on one farm: managers also edit the farm and its members. */
export const FARM_ROLES = ['manager', 'operator', 'viewer'] as const;
export type FarmRole = (typeof FARM_ROLES)[number];

export const farmMembers = pgTable(
  'farm_members',
  {
    farmId: uuid('farm_id')
      .notNull()
      .references(() => farms.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text('role').$type<FarmRole>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.farmId, t.userId] }),
    index('farm_members_user_idx').on(t.userId),
  ],
);

export const UNIT_KINDS = ['tank', 'pen', 'pond', 'raceway', 'cage'] as const;
export type UnitKind = (typeof UNIT_KINDS)[number];

export const units = pgTable(
  'units',
  {
    id: id(),
    farmId: uuid('farm_id')
      .notNull()
      .references(() => farms.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    kind: text('kind').$type<UnitKind>().notNull(),
    volumeM3: doublePrecision('volume_m3'),
    /** The stocked species (fish_species.code). */
    speciesCode: text('species_code').references(() => fishSpecies.code, {
      onDelete: 'restrict',
      onUpdate: 'cascade',
    }),
    stockedCount: integer('stocked_count'),
    stockedMeanWeightG: doublePrecision('stocked_mean_weight_g'),
    stockedAt: timestamp('stocked_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('units_farm_idx').on(t.farmId),
    uniqueIndex('units_farm_name_key').on(t.farmId, sql`lower(${t.name})`),
  ],
);

export const DEVICE_KINDS = ['sensor', 'camera'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

/** A water sensor or camera in one unit, authenticated by its own API key. */
export const devices = pgTable(
  'devices',
  {
    id: id(),
    unitId: uuid('unit_id')
      .notNull()
      .references(() => units.id, { onDelete: 'cascade' }),
    /** The unit's farm, kept here so a key resolves to its farm in one lookup. */
    farmId: uuid('farm_id')
      .notNull()
      .references(() => farms.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    kind: text('kind').$type<DeviceKind>().notNull(),
    /** The first characters of the key, shown in listings. */
    keyPrefix: text('key_prefix').notNull(),
    keyHash: text('key_hash').notNull(),
    keyRotatedAt: timestamp('key_rotated_at', { withTimezone: true }),
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('devices_key_hash_key').on(t.keyHash),
    index('devices_unit_idx').on(t.unitId),
  ],
);

export const UNIT_LOG_KINDS = [
  'mortality',
  'feeding',
  'growth_sample',
  'treatment',
  'stocking',
  'harvest',
] as const;
export type UnitLogKind = (typeof UNIT_LOG_KINDS)[number];

/**
 * One operational event on a unit. Which fields a kind uses:
 * mortality: count, cause; feeding: feed_kg, feed_type; growth_sample: count, mean_weight_g;
 * treatment: product, dose, cause; stocking and harvest: count, mean_weight_g (biomass = count x mean weight).
 */
export const unitLogs = pgTable(
  'unit_logs',
  {
    id: id(),
    unitId: uuid('unit_id')
      .notNull()
      .references(() => units.id, { onDelete: 'cascade' }),
    farmId: uuid('farm_id')
      .notNull()
      .references(() => farms.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<UnitLogKind>().notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
    count: integer('count'),
    meanWeightG: doublePrecision('mean_weight_g'),
    feedKg: doublePrecision('feed_kg'),
    feedType: text('feed_type'),
    cause: text('cause'),
    product: text('product'),
    dose: text('dose'),
    note: text('note'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedBy: uuid('updated_by').references(() => users.id, { onDelete: 'set null' }),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('unit_logs_unit_idx').on(t.unitId, t.occurredAt),
    index('unit_logs_farm_idx').on(t.farmId, t.occurredAt),
  ],
);
