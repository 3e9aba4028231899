import { Type } from 'typebox';
import type { tasks, TaskState } from '../../db/schema.ts';
import { NullableTimestamp, Timestamp } from '../../http/schemas.ts';

export type TaskRow = typeof tasks.$inferSelect;

export const TaskStateSchema = Type.Union([
  Type.Literal('queued'),
  Type.Literal('running'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
  Type.Literal('cancelled'),
]);

export const PublicTaskSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    type: Type.String(),
    state: TaskStateSchema,
    progress: Type.Number({ minimum: 0, maximum: 1 }),
    progress_note: Type.Union([Type.String(), Type.Null()]),
    result: Type.Unknown({ description: 'The JSON result of a succeeded task; null otherwise' }),
    error: Type.Union([Type.String(), Type.Null()]),
    attempts: Type.Integer({ description: 'Runs started so far' }),
    max_attempts: Type.Integer(),
    cancel_requested: Type.Boolean(),
    created_at: Timestamp,
    started_at: NullableTimestamp,
    finished_at: NullableTimestamp,
    timings: Type.Object({
      queue_ms: Type.Integer({
        minimum: 0,
        description: 'From creation to the first run (still counting while queued)',
      }),
      run_ms: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
        description: 'From the first run to the end (still counting while running); null before',
      }),
    }),
    user_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  },
  { description: 'A unit of background work and its outcome' },
);

export interface PublicTask {
  id: string;
  type: string;
  state: TaskState;
  progress: number;
  progress_note: string | null;
  result: unknown;
  error: string | null;
  attempts: number;
  max_attempts: number;
  cancel_requested: boolean;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  timings: { queue_ms: number; run_ms: number | null };
  user_id: string | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const span = (from: Date, to: Date) => Math.max(0, Math.round(to.getTime() - from.getTime()));

export function toPublicTask(t: TaskRow, now = new Date()): PublicTask {
  const end = t.finishedAt ?? now;
  return {
    id: t.id,
    type: t.type,
    state: t.state,
    progress: Math.min(1, Math.max(0, t.progress)),
    progress_note: t.progressNote,
    result: t.result ?? null,
    error: t.error,
    attempts: t.attempts,
    max_attempts: t.maxAttempts,
    cancel_requested: t.cancelRequested,
    created_at: t.createdAt.toISOString(),
    started_at: iso(t.startedAt),
    finished_at: iso(t.finishedAt),
    timings: {
      queue_ms: span(t.createdAt, t.startedAt ?? end),
      run_ms: t.startedAt ? span(t.startedAt, end) : null,
    },
    user_id: t.userId,
  };
}
