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
