import { Type } from 'typebox';
import { NullableTimestamp, Timestamp } from '../../http/schemas.ts';

const Uuid = Type.String({ format: 'uuid' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) =>
  Type.Union([t, Type.Null()]);

export const FarmRoleSchema = Type.Union(
  [Type.Literal('manager'), Type.Literal('operator'), Type.Literal('viewer')],
  {
    description:
      'manager: edits the farm, its units, devices and members; operator: writes logs; viewer: reads',
  },
);

export const UnitKindSchema = Type.Union([
  Type.Literal('tank'),
  Type.Literal('pen'),
  Type.Literal('pond'),
  Type.Literal('raceway'),
  Type.Literal('cage'),
]);

export const DeviceKindSchema = Type.Union([Type.Literal('sensor'), Type.Literal('camera')]);

export const LogKindSchema = Type.Union([
  Type.Literal('mortality'),
  Type.Literal('feeding'),
  Type.Literal('growth_sample'),
  Type.Literal('treatment'),
  Type.Literal('stocking'),
  Type.Literal('harvest'),
]);

export const CreatedSchema = Type.Object({ id: Uuid });

export const FarmBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    location: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
    description: Type.Optional(Nullable(Type.String({ maxLength: 4000 }))),
    timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, default: undefined })),
  },
  { additionalProperties: false },
);

export const FarmSchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  location: Nullable(Type.String()),
  description: Nullable(Type.String()),
  timezone: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
  role: Nullable(FarmRoleSchema),
  unit_count: Type.Optional(Type.Integer()),
});

export const MemberSchema = Type.Object({
  user_id: Uuid,
  username: Type.String(),
  email: Type.String(),
  role: FarmRoleSchema,
  created_at: Timestamp,
});

const unitFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  kind: UnitKindSchema,
  species: Type.Optional(
    Nullable(
      Type.String({
        minLength: 1,
        maxLength: 100,
        description: 'The stocked species: a code of /api/v1/species, e.g. nile-tilapia',
      }),
    ),
  ),
  volume_m3: Type.Optional(Nullable(Type.Number({ exclusiveMinimum: 0 }))),
  stocked_count: Type.Optional(Nullable(Type.Integer({ minimum: 0 }))),
  stocked_mean_weight_g: Type.Optional(Nullable(Type.Number({ exclusiveMinimum: 0 }))),
  stocked_at: Type.Optional(Nullable(Timestamp)),
};

export const UnitBody = Type.Object(unitFields, {
  additionalProperties: false,
  description:
    'A unit created with stocked_count also gets a stocking entry in its log (KPIs count fish from the log).',
});
export const UnitPatch = Type.Partial(Type.Object(unitFields), { additionalProperties: false });

export const UnitSchema = Type.Object({
  id: Uuid,
  farm_id: Uuid,
  name: Type.String(),
  kind: UnitKindSchema,
  volume_m3: Nullable(Type.Number()),
  species: Nullable(Type.String()),
  stocked_count: Nullable(Type.Integer()),
  stocked_mean_weight_g: Nullable(Type.Number()),
  stocked_at: NullableTimestamp,
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const DeviceBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200 }), kind: DeviceKindSchema },
  { additionalProperties: false },
);

export const DevicePatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    enabled: Type.Optional(
      Type.Boolean({ description: 'false disables the device: its key stops working at once' }),
    ),
  },
  { additionalProperties: false },
);

export const DeviceSchema = Type.Object({
  id: Uuid,
  unit_id: Uuid,
  farm_id: Uuid,
  name: Type.String(),
  kind: DeviceKindSchema,
  key_prefix: Type.String({ description: 'First characters of the key, to tell keys apart' }),
  enabled: Type.Boolean(),
  disabled_at: NullableTimestamp,
  key_rotated_at: NullableTimestamp,
  last_seen_at: NullableTimestamp,
  created_at: Timestamp,
});

export const DeviceWithKeySchema = Type.Intersect([
  DeviceSchema,
  Type.Object({
    api_key: Type.String({
      description: 'The device key (send as X-API-Key, or as the MQTT password): shown only now',
    }),
  }),
]);

const logFields = {
  occurred_at: Type.Optional(Timestamp),
  count: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 100_000_000 }))),
  mean_weight_g: Type.Optional(Nullable(Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000 }))),
  feed_kg: Type.Optional(Nullable(Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000 }))),
  feed_type: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  cause: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
  product: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  dose: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  note: Type.Optional(Nullable(Type.String({ maxLength: 4000 }))),
};

export const LogBody = Type.Object(
  { kind: LogKindSchema, ...logFields },
  {
    additionalProperties: false,
    description:
      'Fields per kind: mortality needs count (cause optional); feeding needs feed_kg (feed_type optional); growth_sample needs count (fish weighed) and mean_weight_g; treatment needs product (dose, cause optional); stocking and harvest need count (mean_weight_g optional). occurred_at defaults to now.',
  },
);
export const LogPatch = Type.Object(logFields, { additionalProperties: false });

export const LogSchema = Type.Object({
  id: Uuid,
  unit_id: Uuid,
  farm_id: Uuid,
  kind: LogKindSchema,
  occurred_at: Timestamp,
  count: Nullable(Type.Integer()),
  mean_weight_g: Nullable(Type.Number()),
  feed_kg: Nullable(Type.Number()),
  feed_type: Nullable(Type.String()),
  cause: Nullable(Type.String()),
  product: Nullable(Type.String()),
  dose: Nullable(Type.String()),
  note: Nullable(Type.String()),
  created_by: Nullable(Uuid),
  created_at: Timestamp,
  updated_by: Nullable(Uuid),
  updated_at: Timestamp,
});

export const LogQuery = Type.Object({
  kind: Type.Optional(LogKindSchema),
  from: Type.Optional(Timestamp),
  to: Type.Optional(Timestamp),
});

export const UnitIdParams = Type.Object({ id: Uuid });
export const LogParams = Type.Object({ id: Uuid, logId: Uuid });
export const MemberParams = Type.Object({ id: Uuid, userId: Uuid });
