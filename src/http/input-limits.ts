import type { FastifyInstance } from 'fastify';

/**
 * Bounds every request schema once, so no route can hand the database a value it rejects (which
 * used to surface as a 500): integers fit PostgreSQL's 32-bit `integer`, numbers are finite,
 * strings hold no NUL and no unpaired surrogate (PostgreSQL text and JSON store neither), and
 * date-times name a year from 1 to 9999. Routes added later are
 * covered without doing anything; a route that needs wider integers declares its own bounds.
 */
export const INT32_MAX = 2_147_483_647;
export const INT32_MIN = -2_147_483_648;
/**
 * Any string PostgreSQL can store: no NUL, and no unpaired UTF-16 surrogate (JSON.stringify
 * writes one as a \\udXXX escape that jsonb refuses, e.g. in the audit record of an API key's
 * name). Ajv matches with the `u` flag, so a valid surrogate pair is one code point and passes.
 */
export const STORABLE_TEXT_PATTERN = '^[^\\u0000\\uD800-\\uDFFF]*$';
export const STORABLE_TEXT_MESSAGE =
  'must not contain NUL (\\u0000) characters or unpaired UTF-16 surrogates';
/**
 * Numbers must be finite. Ajv's type coercion turns the query text "Infinity" or "1e309" into
 * Infinity, and its minimum/maximum checks skip non-finite values, so `?limit=Infinity` passed a
 * schema bounded to 1..500 and failed later (a 500). This keyword runs on the coerced value.
 */
export const FINITE_KEYWORD = 'x-finite';

type Schema = Record<string, unknown>;

const REQUEST_PARTS = ['body', 'querystring', 'params', 'headers'] as const;

/** A copy of a request schema with the app-wide bounds added where the schema sets none. */
export function withInputLimits(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withInputLimits);
  if (schema === null || typeof schema !== 'object') return schema;
  const src = schema as Schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(src)) {
    // Literal values (defaults, examples, enum and const members) are data, not schemas.
    out[key] =
      key === 'default' || key === 'examples' || key === 'enum' || key === 'const'
        ? value
        : withInputLimits(value);
  }
  const types = Array.isArray(src.type) ? src.type : [src.type];
  if (types.includes('integer') || types.includes('number')) out[FINITE_KEYWORD] = true;
  if (types.includes('integer')) {
    if (src.maximum === undefined && src.exclusiveMaximum === undefined) out.maximum = INT32_MAX;
    if (src.minimum === undefined && src.exclusiveMinimum === undefined) out.minimum = INT32_MIN;
  }
  // A string with its own pattern, format, enum or const is already narrower than this
  // (test/platform/input-limits.test.ts checks every route's patterns reject NUL).
  if (
    types.includes('string') &&
    src.pattern === undefined &&
    src.format === undefined &&
    src.enum === undefined &&
    src.const === undefined
  ) {
    out.pattern = STORABLE_TEXT_PATTERN;
  }
  return out;
}

/** The message a client sees for a bound added here instead of Ajv's generic one. */
export function inputLimitMessage(params: Record<string, unknown>): string | undefined {
  if (params.pattern === STORABLE_TEXT_PATTERN) return STORABLE_TEXT_MESSAGE;
  if (params.finite === true) return 'must be a finite number';
  if (params.limit === INT32_MAX && params.comparison === '<=') {
    return `must be at most ${INT32_MAX}`;
  }
  if (params.limit === INT32_MIN && params.comparison === '>=') {
    return `must be at least ${INT32_MIN}`;
  }
  if (params.format === 'date-time') {
    return 'must be an RFC 3339 date-time with a year from 0001 to 9999, e.g. 2026-01-31T12:00:00Z';
  }
  return undefined;
}

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/** RFC 3339 date-time whose year is 1..9999 and whose fields are in range (no 31 February). */
export function isSaneDateTime(value: string): boolean {
  const m = DATE_TIME.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as number[];
  if (year! < 1 || month! < 1 || month! > 12 || day! < 1) return false;
  const daysInMonth = new Date(Date.UTC(2000, month!, 0)).getUTCDate();
  const leap = (year! % 4 === 0 && year! % 100 !== 0) || year! % 400 === 0;
  if (day! > (month === 2 ? (leap ? 29 : 28) : daysInMonth)) return false;
  if (hour! > 23 || minute! > 59 || second! > 60) return false;
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return false;
  // The offset can push year 1 or 9999 across the edge once the value is read as UTC.
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) return false;
  const utcYear = new Date(ms).getUTCFullYear();
  return utcYear >= 1 && utcYear <= 9999;
}

/** The `ajv.onCreate` hook: date-time means a sane date-time everywhere. */
export function saneDateTimeFormat(ajv: {
  addFormat(name: string, format: { type: 'string'; validate: (v: string) => boolean }): unknown;
}): void {
  ajv.addFormat('date-time', { type: 'string', validate: isSaneDateTime });
}

/** The `ajv.onCreate` hook for FINITE_KEYWORD: a number that is Infinity (after coercion) is refused. */
export function finiteNumbers(ajv: { addKeyword(definition: object): unknown }): void {
  // Not limited to `type: 'number'`: Ajv runs such keywords only on finite numbers.
  const validate = (schema: boolean, data: unknown): boolean => {
    if (!schema || typeof data !== 'number' || Number.isFinite(data)) return true;
    (validate as unknown as { errors: object[] }).errors = [
      { keyword: FINITE_KEYWORD, message: 'must be a finite number', params: { finite: true } },
    ];
    return false;
  };
  ajv.addKeyword({ keyword: FINITE_KEYWORD, schemaType: 'boolean', validate });
}

/** Adds the bounds to the request schemas of every route registered after this call. */
export function applyInputLimits(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (!route.schema) return;
    const schema = { ...route.schema } as Record<string, unknown>;
    for (const part of REQUEST_PARTS) {
      if (schema[part] !== undefined) schema[part] = withInputLimits(schema[part]);
    }
    route.schema = schema as typeof route.schema;
  });
}
