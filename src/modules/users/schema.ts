import { Type } from 'typebox';
import { NullableTimestamp, Timestamp } from '../../http/schemas.ts';

export const RoleSchema = Type.Union([
  Type.Literal('admin'),
  Type.Literal('operator'),
  Type.Literal('viewer'),
]);

export const PublicUserSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  username: Type.String(),
  full_name: Type.Union([Type.String(), Type.Null()]),
  role: RoleSchema,
  is_active: Type.Boolean(),
  created_at: Timestamp,
  last_login_at: NullableTimestamp,
});

/** The fields of a new account, shared by self-registration and admin creation. */
export const accountFields = {
  email: Type.String({ maxLength: 254 }),
  username: Type.String({ maxLength: 40 }),
  password: Type.String({ maxLength: 256 }),
  full_name: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
};
