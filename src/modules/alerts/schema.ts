import { Type } from 'typebox';

export const Severity = Type.Union([
  Type.Literal('info'),
  Type.Literal('warning'),
  Type.Literal('critical'),
]);
export const State = Type.Union([
  Type.Literal('open'),
  Type.Literal('acknowledged'),
  Type.Literal('resolved'),
]);

export const AlertSchema = Type.Object({
  id: Type.String(),
  kind: Type.String({
    description: 'water_quality, rate_of_change, device_silent, model_drift, model_accuracy',
  }),
  severity: Severity,
  state: State,
  source: Type.String(),
  message: Type.String(),
  farm_id: Type.Union([Type.String(), Type.Null()]),
  unit_id: Type.Union([Type.String(), Type.Null()]),
  device_id: Type.Union([Type.String(), Type.Null()]),
  metric: Type.Union([Type.String(), Type.Null()]),
  opened_at: Type.String(),
  acknowledged_at: Type.Union([Type.String(), Type.Null()]),
  acknowledged_by: Type.Union([Type.String(), Type.Null()]),
  resolved_at: Type.Union([Type.String(), Type.Null()]),
  resolved_by: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
});

export const EventSchema = Type.Object({
  type: Type.String({ description: 'opened, acknowledged, resolved, notified' }),
  at: Type.String(),
  actor_user_id: Type.Union([Type.String(), Type.Null()]),
  value: Type.Union([Type.Number(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
});
