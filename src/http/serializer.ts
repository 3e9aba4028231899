import fastJsonStringify, { type Options, type Schema } from 'fast-json-stringify';

type JsonSchema = Record<string, unknown>;

const PRIMITIVES = new Set(['string', 'number', 'integer', 'boolean', 'null']);
/** Keywords that change what a valid value is, not how it is written. */
const VALUE_RULES = new Set([
  'const',
  'enum',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
]);
const ANNOTATIONS = new Set(['description', 'title', 'examples', 'default', 'format']);
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', 'definitions', '$defs'];
const SUBSCHEMAS = ['items', 'additionalProperties', 'not', 'if', 'then', 'else'];
const SUBSCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'];

const isObject = (v: unknown): v is JsonSchema =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function primitiveTypes(schema: JsonSchema): string[] | undefined {
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (!types.every((t): t is string => typeof t === 'string' && PRIMITIVES.has(t)))
    return undefined;
  const plain = Object.keys(schema).every(
    (k) => k === 'type' || VALUE_RULES.has(k) || ANNOTATIONS.has(k),
  );
  return plain ? types : undefined;
}

/**
 * The same schema, with the unions a serializer can write without testing each branch. For a
 * union fast-json-stringify validates the value against every branch with ajv: compiled on
 * a route's first answer (tens of milliseconds on the event loop) and run on every answer after.
 * Only the JSON type decides how a value is written, so a union of primitive types (nullable
 * strings and numbers, enums of literals) becomes one multi-type schema, and an object or array
 * or null becomes that schema made nullable. Request validation and the OpenAPI document keep
 * the schemas as written.
 */
export function serializationSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(serializationSchema);
  if (!isObject(schema)) return schema;
  const out: JsonSchema = { ...schema };
  for (const key of SUBSCHEMA_MAPS) {
    const map = out[key];
    if (isObject(map)) {
      out[key] = Object.fromEntries(
        Object.entries(map).map(([k, v]) => [k, serializationSchema(v)]),
      );
    }
  }
  for (const key of SUBSCHEMAS) if (isObject(out[key])) out[key] = serializationSchema(out[key]);
  for (const key of SUBSCHEMA_LISTS) {
    if (Array.isArray(out[key])) out[key] = (out[key] as unknown[]).map(serializationSchema);
  }
  const branches = out.anyOf ?? out.oneOf;
  if (!Array.isArray(branches) || branches.length === 0 || out.type !== undefined) return out;
  const rest = Object.fromEntries(
    Object.entries(out).filter(([k]) => k !== 'anyOf' && k !== 'oneOf' && ANNOTATIONS.has(k)),
  );
  if (Object.keys(out).length - 1 !== Object.keys(rest).length) return out;
  const members = branches as JsonSchema[];
  const typed = members.map((m) => (isObject(m) ? primitiveTypes(m) : undefined));
  if (typed.every((t) => t !== undefined)) {
    const types = [...new Set(typed.flat())];
    const formats = [...new Set(members.map((m) => m.format))];
    return {
      ...rest,
      type: types.length === 1 ? types[0] : types,
      ...(formats.length === 1 && formats[0] !== undefined ? { format: formats[0] } : {}),
    };
  }
  const nulls = members.filter((m) => isObject(m) && m.type === 'null' && primitiveTypes(m));
  const others = members.filter((m) => !nulls.includes(m));
  if (nulls.length === 1 && others.length === 1) {
    const other = others[0]!;
    if (isObject(other) && (other.type === 'object' || other.type === 'array')) {
      return { ...other, ...rest, nullable: true };
    }
  }
  return out;
}

/** Fastify's serializer factory (schemaController.compilersFactory.buildSerializer) over those schemas. */
export function buildSerializerFactory(externalSchemas?: unknown, serializerOptions?: Options) {
  const shared = isObject(externalSchemas)
    ? Object.fromEntries(
        Object.entries(externalSchemas).map(([id, s]) => [id, serializationSchema(s) as Schema]),
      )
    : undefined;
  return ({ schema }: { schema?: unknown }): ((doc: unknown) => string) => {
    const own = serializationSchema(schema) as Schema & { $id?: string };
    let schemas = shared;
    if (schemas && own.$id && schemas[own.$id]) {
      schemas = { ...schemas };
      delete schemas[own.$id];
    }
    return fastJsonStringify(own, { ...serializerOptions, schema: schemas }) as (
      doc: unknown,
    ) => string;
  };
}
