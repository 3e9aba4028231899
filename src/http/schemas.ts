import { Type, type TSchema } from 'typebox';

/** A reference to the shared RFC 9457 problem schema, for route response maps. */
export const ProblemRef = Type.Ref('Problem');

/** Response entries for the error statuses a route can answer with. */
export function errors(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, ProblemRef]));
}

export const PageQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  offset: Type.Integer({ minimum: 0, default: 0 }),
});

export function page<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    total: Type.Integer(),
    limit: Type.Integer(),
    offset: Type.Integer(),
  });
}

/** One page of a list held in memory, in the shape every list endpoint answers with. */
export function pageOf<T>(all: readonly T[], q: { limit: number; offset: number }) {
  // Only the paging fields: the route's other query fields (e.g. `model`) must not overwrite
  // fields of the answer that share their name.
  return {
    items: all.slice(q.offset, q.offset + q.limit),
    total: all.length,
    limit: q.limit,
    offset: q.offset,
  };
}

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const Timestamp = Type.String({ format: 'date-time' });
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
