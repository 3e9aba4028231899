// Water-quality telemetry: raw readings, their per-minute and per-hour rollups, per-unit threshold
// overrides, and the timeline of every alert.
import { sql } from 'drizzle-orm';
import {
  bigserial,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import { alerts, users } from './schema.ts';
import { units } from './schema-farms.ts';

/**
 * One sensor value. The primary key makes a repeated (device, metric, ts) a no-op, and the
 * (unit, metric, ts) index serves time-ordered reads of one series. No foreign keys: at tens of
 * thousands of rows a second the per-row lookups cost more than they protect, and ingest already
 * checked the device; rows of a deleted unit age out with the retention.
 */
export const readings = pgTable(
  'readings',
  {
    deviceId: uuid('device_id').notNull(),
    unitId: uuid('unit_id').notNull(),
    metric: text('metric').notNull(),
    ts: timestamp('ts', { withTimezone: true, precision: 3 }).notNull(),
    value: doublePrecision('value').notNull(),
  },
  (t) => [
    primaryKey({ name: 'readings_pkey', columns: [t.deviceId, t.metric, t.ts] }),
    index('readings_unit_metric_ts_idx').on(t.unitId, t.metric, t.ts),
    index('readings_ts_brin').using('brin', t.ts),
  ],
);

const rollup = (name: string) =>
  pgTable(
    name,
    {
      unitId: uuid('unit_id').notNull(),
      metric: text('metric').notNull(),
      bucket: timestamp('bucket', { withTimezone: true }).notNull(),
      min: doublePrecision('min').notNull(),
      max: doublePrecision('max').notNull(),
      sum: doublePrecision('sum').notNull(),
      count: integer('count').notNull(),
    },
    (t) => [
      primaryKey({ name: `${name}_pkey`, columns: [t.unitId, t.metric, t.bucket] }),
      index(`${name}_bucket_brin`).using('brin', t.bucket),
    ],
  );

/** Per-minute aggregates of each unit's series, updated in the same transaction as the raw rows. */
export const readingRollupsMinute = rollup('reading_rollups_minute');
/** Per-hour aggregates, for windows of days to years. */
export const readingRollupsHour = rollup('reading_rollups_hour');

/** A unit's own acceptable range for a metric, replacing the stocked species' cited range. */
export const unitThresholds = pgTable(
  'unit_thresholds',
  {
    unitId: uuid('unit_id')
      .notNull()
      .references(() => units.id, { onDelete: 'cascade' }),
    metric: text('metric').notNull(),
    min: doublePrecision('min'),
    max: doublePrecision('max'),
    updatedBy: uuid('updated_by').references(() => users.id, { onDelete: 'set null' }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: 'unit_thresholds_pkey', columns: [t.unitId, t.metric] })],
);

export const ALERT_EVENT_TYPES = ['opened', 'acknowledged', 'resolved', 'notified'] as const;
export type AlertEventType = (typeof ALERT_EVENT_TYPES)[number];

/** What happened to an alert and when: its timeline. */
export const alertEvents = pgTable(
  'alert_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    alertId: uuid('alert_id')
      .notNull()
      .references(() => alerts.id, { onDelete: 'cascade' }),
    at: timestamp('at', { withTimezone: true })
      .notNull()
      .default(sql`now()`),
    type: text('type').$type<AlertEventType>().notNull(),
    actorUserId: uuid('actor_user_id').references(() => users.id, { onDelete: 'set null' }),
    value: doublePrecision('value'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index('alert_events_alert_idx').on(t.alertId, t.at)],
);
