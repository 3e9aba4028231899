import { sql } from 'drizzle-orm';
import {
  bigserial,
  customType,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { devices, farms, units } from './schema-farms.ts';

const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v)),
});

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const id = () =>
  uuid('id')
    .primaryKey()
    .default(sql`gen_random_uuid()`);

export const ROLES = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const users = pgTable(
  'users',
  {
    id: id(),
    email: text('email').notNull(),
    username: text('username').notNull(),
    passwordHash: text('password_hash').notNull(),
    fullName: text('full_name'),
    role: text('role').$type<Role>().notNull().default('viewer'),
    isActive: boolean('is_active').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    lastLoginAt: timestamp('last_login_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('users_email_key').on(sql`lower(${t.email})`),
    uniqueIndex('users_username_key').on(sql`lower(${t.username})`),
  ],
);

export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: id(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** All tokens issued from one login share a family; reuse of a rotated token revokes it. */
    familyId: uuid('family_id').notNull(),
    tokenHash: text('token_hash').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('refresh_tokens_hash_key').on(t.tokenHash),
    index('refresh_tokens_family_idx').on(t.familyId),
    index('refresh_tokens_user_idx').on(t.userId),
  ],
);

/**
 * Failed sign-ins per account (a user id, or the login text when no account matches), shared by
 * every API process: the back-off holds however many addresses an attacker rotates through.
 */
export const loginFailures = pgTable('login_failures', {
  account: text('account').primaryKey(),
  failures: integer('failures').notNull().default(0),
  lockedUntil: timestamp('locked_until', { withTimezone: true }),
  lastFailureAt: timestamp('last_failure_at', { withTimezone: true }).notNull().defaultNow(),
});

export const apiKeys = pgTable(
  'api_keys',
  {
    id: id(),
    name: text('name').notNull(),
    /** The first characters of the key, shown in listings so an operator can tell keys apart. */
    prefix: text('prefix').notNull(),
    keyHash: text('key_hash').notNull(),
    role: text('role').$type<Role>().notNull(),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('api_keys_hash_key').on(t.keyHash)],
);

export const fishSpecies = pgTable(
  'fish_species',
  {
    id: id(),
    code: text('code').notNull(),
    commonName: text('common_name').notNull(),
    scientificName: text('scientific_name').notNull(),
    category: text('category').$type<'reef' | 'farmed'>().notNull(),
    environment: text('environment').$type<'freshwater' | 'brackish' | 'marine'>().notNull(),
    description: text('description').notNull(),
    temperatureMinC: doublePrecision('temperature_min_c'),
    temperatureMaxC: doublePrecision('temperature_max_c'),
    temperatureSource: text('temperature_source').notNull(),
    dissolvedOxygenMinMgL: doublePrecision('dissolved_oxygen_min_mg_l'),
    dissolvedOxygenMaxMgL: doublePrecision('dissolved_oxygen_max_mg_l'),
    dissolvedOxygenSource: text('dissolved_oxygen_source').notNull(),
    phMin: doublePrecision('ph_min'),
    phMax: doublePrecision('ph_max'),
    phSource: text('ph_source').notNull(),
    ammoniaMaxMgL: doublePrecision('ammonia_max_mg_l'),
    ammoniaSource: text('ammonia_source').notNull(),
    nitriteMaxMgL: doublePrecision('nitrite_max_mg_l'),
    nitriteSource: text('nitrite_source').notNull(),
    salinityMinPpt: doublePrecision('salinity_min_ppt'),
    salinityMaxPpt: doublePrecision('salinity_max_ppt'),
    salinitySource: text('salinity_source').notNull(),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('fish_species_code_key').on(t.code)],
);

export const models = pgTable(
  'models',
  {
    id: id(),
    name: text('name').notNull(),
    version: integer('version').notNull(),
    task: text('task').notNull(),
    status: text('status').$type<'ready' | 'archived'>().notNull().default('ready'),
    /** Where the artefact lives inside the model store (`<name>/<version>`). */
    storePath: text('store_path').notNull(),
    manifest: jsonb('manifest').$type<Record<string, unknown>>().notNull(),
    metrics: jsonb('metrics').$type<Record<string, unknown>>().notNull().default({}),
    source: text('source').notNull().default('trained'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('models_name_version_key').on(t.name, t.version)],
);

export const modelAliases = pgTable(
  'model_aliases',
  {
    modelName: text('model_name').notNull(),
    alias: text('alias').notNull(),
    version: integer('version').notNull(),
    /** The version the alias pointed at before its last move, for one-call rollback. */
    previousVersion: integer('previous_version'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    updatedBy: uuid('updated_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [primaryKey({ columns: [t.modelName, t.alias] })],
);

export interface TrafficSplitEntry {
  /** An alias (champion, challenger) or a version number as text. */
  target: string;
  weight: number;
}

/** How requests for a model name are spread over its versions (A/B) and mirrored (shadow). */
export const modelRoutes = pgTable('model_routes', {
  modelName: text('model_name').primaryKey(),
  split: jsonb('split').$type<TrafficSplitEntry[]>().notNull(),
  /** A target that also runs on every request, whose answer is recorded but never returned. */
  shadow: text('shadow'),
  /** Route each user or device to the same version (hash of its id) instead of per request. */
  sticky: boolean('sticky').notNull().default(true),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  updatedBy: uuid('updated_by').references(() => users.id, { onDelete: 'set null' }),
});

export const predictions = pgTable(
  'predictions',
  {
    id: id(),
    createdAt: createdAt(),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'set null' }),
    apiKeyId: uuid('api_key_id').references(() => apiKeys.id, { onDelete: 'set null' }),
    /** The caller's unit label as sent (free text; a farm unit's id when it names one). */
    unitId: text('unit_id'),
    /** The farm unit the image came from, when unit_id named one: scopes the prediction to its farm. */
    farmUnitId: uuid('farm_unit_id').references(() => units.id, { onDelete: 'set null' }),
    /** The farm of farm_unit_id; a farm's predictions go with it. */
    farmId: uuid('farm_id').references(() => farms.id, { onDelete: 'cascade' }),
    source: text('source').notNull().default('api'),
    modelName: text('model_name').notNull(),
    modelVersion: integer('model_version').notNull(),
    label: text('label').notNull(),
    confidence: real('confidence').notNull(),
    status: text('status').$type<'ok' | 'unknown'>().notNull(),
    oodScore: real('ood_score'),
    topK: jsonb('top_k').$type<{ label: string; confidence: number }[]>().notNull(),
    health: jsonb('health').$type<Record<string, unknown> | null>(),
    inferenceMs: real('inference_ms').notNull(),
    imageSha256: text('image_sha256').notNull(),
    /** The caller's device (camera) id, the key of sticky routing. */
    deviceId: text('device_id'),
    /** Which traffic-split entry answered: champion, challenger or a version number. */
    routeTarget: text('route_target'),
    cached: boolean('cached').notNull().default(false),
    /** The species' scientific name from the model's label info (null for unknown). */
    scientificName: text('scientific_name'),
    /** Where the time went: decode, queue, run (ms) and the batch it ran in; zeros for a cache hit. */
    timings: jsonb('timings').$type<{
      decode_ms: number;
      queue_ms: number;
      run_ms: number;
      batch_size: number;
    } | null>(),
    /** The shadow version's answer on the same image, and whether it agreed. */
    shadow: jsonb('shadow').$type<{
      version: number;
      label: string;
      confidence: number;
      status: string;
      agree: boolean;
    } | null>(),
    feedbackLabel: text('feedback_label'),
    feedbackBy: uuid('feedback_by').references(() => users.id, { onDelete: 'set null' }),
    feedbackApiKeyId: uuid('feedback_api_key_id').references(() => apiKeys.id, {
      onDelete: 'set null',
    }),
    /** The giver's role when the label was given: retraining trusts operators and admins only. */
    feedbackRole: text('feedback_role').$type<Role>(),
    feedbackAt: timestamp('feedback_at', { withTimezone: true }),
    feedbackNote: text('feedback_note'),
  },
  (t) => [
    index('predictions_created_idx').on(t.createdAt),
    index('predictions_label_idx').on(t.label, t.createdAt),
    index('predictions_model_idx').on(t.modelName, t.modelVersion, t.createdAt),
    index('predictions_farm_unit_idx').on(t.farmUnitId, t.createdAt),
    index('predictions_farm_idx').on(t.farmId, t.createdAt),
  ],
);

export const TASK_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const tasks = pgTable(
  'tasks',
  {
    id: id(),
    type: text('type').notNull(),
    state: text('state').$type<TaskState>().notNull().default('queued'),
    progress: real('progress').notNull().default(0),
    /** What the handler said it is doing, with its last progress report (e.g. "epoch 3/10"). */
    progressNote: text('progress_note'),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull().default({}),
    result: jsonb('result').$type<unknown>(),
    error: text('error'),
    /** Runs started so far; also the fencing token of the current run (see TaskRunner). */
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(3),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'set null' }),
    /** The API key that created the task, which may read and cancel it like its user. */
    apiKeyId: uuid('api_key_id').references(() => apiKeys.id, { onDelete: 'set null' }),
    cancelRequested: boolean('cancel_requested').notNull().default(false),
    createdAt: createdAt(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('tasks_state_idx').on(t.state, t.createdAt),
    index('tasks_user_idx').on(t.userId, t.createdAt),
    index('tasks_api_key_idx').on(t.apiKeyId, t.createdAt),
  ],
);

export const auditLogs = pgTable(
  'audit_logs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    createdAt: createdAt(),
    action: text('action').notNull(),
    outcome: text('outcome').$type<'success' | 'failure'>().notNull().default('success'),
    actorUserId: uuid('actor_user_id'),
    actorApiKeyId: uuid('actor_api_key_id'),
    actorName: text('actor_name'),
    targetType: text('target_type'),
    targetId: text('target_id'),
    ip: text('ip'),
    requestId: text('request_id'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [
    index('audit_logs_created_idx').on(t.createdAt),
    index('audit_logs_action_idx').on(t.action, t.createdAt),
  ],
);

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export const ALERT_STATES = ['open', 'acknowledged', 'resolved'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

/**
 * Something an operator should look at: model drift and accuracy drops (no farm: admins and
 * operators see them), water quality and silent devices (a farm and unit: its members see them).
 */
export const alerts = pgTable(
  'alerts',
  {
    id: id(),
    createdAt: createdAt(),
    kind: text('kind').notNull(),
    severity: text('severity').$type<AlertSeverity>().notNull(),
    /** What raised it, e.g. `model:species@2`, `unit:<id>`, `device:<id>`. */
    source: text('source').notNull(),
    message: text('message').notNull(),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    state: text('state').$type<AlertState>().notNull().default('open'),
    /** When the condition began (for a rule: the reading time that tripped it). */
    openedAt: timestamp('opened_at', { withTimezone: true }).notNull().defaultNow(),
    farmId: uuid('farm_id').references(() => farms.id, { onDelete: 'cascade' }),
    unitId: uuid('unit_id').references(() => units.id, { onDelete: 'cascade' }),
    deviceId: uuid('device_id').references(() => devices.id, { onDelete: 'set null' }),
    metric: text('metric'),
    /** One open alert per rule and subject at most: a unique index covers the unresolved ones. */
    ruleKey: text('rule_key'),
    acknowledgedAt: timestamp('acknowledged_at', { withTimezone: true }),
    acknowledgedBy: uuid('acknowledged_by').references(() => users.id, { onDelete: 'set null' }),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    resolvedBy: uuid('resolved_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [
    index('alerts_created_idx').on(t.createdAt),
    index('alerts_source_idx').on(t.source, t.kind),
    index('alerts_state_opened_idx').on(t.state, t.openedAt),
    index('alerts_farm_opened_idx').on(t.farmId, t.openedAt),
    uniqueIndex('alerts_open_rule_key')
      .on(t.ruleKey)
      .where(sql`${t.state} <> 'resolved' AND ${t.ruleKey} IS NOT NULL`),
  ],
);

/** Images uploaded for async and batch inference, kept until their task is purged. */
export const taskFiles = pgTable(
  'task_files',
  {
    id: id(),
    taskId: uuid('task_id')
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
    filename: text('filename').notNull(),
    /**
     * The bytes, in tasks made before task_file_parts existed; null since (PostgreSQL keeps them in
     * task_file_parts, the embedded database in files: TaskInputs).
     */
    data: bytea('data'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('task_files_task_position_key').on(t.taskId, t.position)],
);

/**
 * A task input's bytes on PostgreSQL, in parts of about a megabyte: each written and read by a
 * statement of its own, so no statement carries (and no event-loop turn decodes) a whole upload.
 */
export const taskFileParts = pgTable(
  'task_file_parts',
  {
    taskId: uuid('task_id')
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
    part: integer('part').notNull(),
    data: bytea('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.position, t.part] })],
);

export * from './schema-farms.ts';
export * from './schema-telemetry.ts';
