// Answers are written by fast-json-stringify from schemas whose unions were reduced to what a
// writer needs (serializationSchema): the JSON must be what the full schemas describe, and no
// union may be left for ajv to check on every answer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Type } from 'typebox';
import fastJsonStringify from 'fast-json-stringify';
import { buildSerializerFactory, serializationSchema } from '../../src/http/serializer.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) =>
  Type.Union([t, Type.Null()]);

const Answer = Type.Object({
  id: Type.String({ format: 'uuid' }),
  created_at: Type.String({ format: 'date-time' }),
  deleted_at: Nullable(Type.String({ format: 'date-time' })),
  state: Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('done')]),
  count: Nullable(Type.Integer()),
  score: Type.Union([Type.Number(), Type.Null(), Type.String()]),
  unit: Nullable(Type.Object({ id: Type.String(), name: Type.String() })),
  tags: Nullable(Type.Array(Type.String())),
  items: Type.Array(Type.Object({ label: Type.String(), probability: Nullable(Type.Number()) })),
});

const unionCount = (s: unknown): number =>
  Array.isArray(s)
    ? s.reduce((n: number, x) => n + unionCount(x), 0)
    : typeof s === 'object' && s !== null
      ? Object.entries(s).reduce(
          (n, [k, v]) => n + (k === 'anyOf' || k === 'oneOf' ? 1 : 0) + unionCount(v),
          0,
        )
      : 0;

test('nullable values, literal enums and nullable objects leave no union to validate', () => {
  assert.ok(unionCount(Answer) >= 7);
  assert.equal(unionCount(serializationSchema(Answer)), 0);
});

test('a union of objects of different shapes is kept as written', () => {
  const either = Type.Union([Type.Object({ a: Type.String() }), Type.Object({ b: Type.Number() })]);
  assert.equal(unionCount(serializationSchema(Type.Object({ x: either }))), 1);
});

test('the reduced schema writes the same JSON as the full one', () => {
  const reduced = buildSerializerFactory(undefined, undefined)({ schema: Answer });
  const full = fastJsonStringify(Answer);
  const values = [
    {
      id: '5f0c6c1e-8a34-4c55-9d7e-1a2b3c4d5e6f',
      created_at: new Date(Date.UTC(2026, 10, 30, 6, 0, 0)),
      deleted_at: null,
      state: 'running',
      count: null,
      score: 0.25,
      unit: { id: 'u1', name: 'Tank 1', extra: 'not in the schema' },
      tags: ['a', 'b'],
      items: [
        { label: 'clownfish', probability: 0.9 },
        { label: 'x', probability: null },
      ],
    },
    {
      id: '5f0c6c1e-8a34-4c55-9d7e-1a2b3c4d5e6f',
      created_at: '2026-11-30T06:00:00.000Z',
      deleted_at: new Date(0),
      state: 'done',
      count: 3,
      score: 'n/a',
      unit: null,
      tags: null,
      items: [],
    },
  ];
  for (const value of values) {
    const written = reduced(value);
    assert.equal(written, full(value));
    assert.ok(!written.includes('not in the schema'));
  }
});
