// Turns the app's OpenAPI document into fast-check generators of whole requests, so every route
// (and every route added later) is fuzzed without anyone listing it.
import fc from 'fast-check';
import { STORABLE_TEXT_PATTERN } from '../../../src/http/input-limits.ts';
import { multipart, type Part } from '../../support/images.ts';
import { hostileBodyText, hostileJson, hostileNumber, hostileString, poisoned } from './hostile.ts';

type Schema = Record<string, unknown>;

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: Schema;
}

export interface Operation {
  method: string;
  /** OpenAPI path template, e.g. /api/v1/farms/{id}. */
  path: string;
  summary: string;
  parameters: Parameter[];
  body?: { type: 'json' | 'multipart'; schema: Schema; required: boolean };
  /** How the route is called: no credentials, a user's bearer token, or an API key only. */
  auth: 'public' | 'bearer' | 'apiKey';
  /** Answers with a never-ending event stream once accepted (Server-Sent Events). */
  stream: boolean;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components?: { schemas?: Record<string, Schema> };
}

export function operations(doc: OpenApiDocument): Operation[] {
  const out: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const security = (op.security as Record<string, unknown>[] | undefined) ?? [];
      const schemes = new Set(security.flatMap((s) => Object.keys(s)));
      const content = (op.requestBody as { content?: Record<string, { schema: Schema }> })?.content;
      const required = Boolean((op.requestBody as { required?: boolean })?.required);
      const body = content?.['application/json']
        ? { type: 'json' as const, schema: content['application/json'].schema, required }
        : content?.['multipart/form-data']
          ? { type: 'multipart' as const, schema: content['multipart/form-data'].schema, required }
          : undefined;
      const summary = String(op.summary ?? '');
      out.push({
        method: method.toUpperCase(),
        path,
        summary,
        parameters: (op.parameters as Parameter[] | undefined) ?? [],
        body,
        auth: schemes.size === 0 ? 'public' : schemes.has('bearerAuth') ? 'bearer' : 'apiKey',
        stream: /\/stream$/.test(path),
      });
    }
  }
  return out;
}

/** What a generated value may be besides what its schema says: known ids and files. */
export interface Hints {
  /** Real values for a parameter or property name in this route (fixture ids, model names). */
  known(name: string, path: string): readonly unknown[];
  /** Files for multipart fields: images, broken images, archives, bombs. */
  files: readonly { name: string; data: Buffer; contentType: string }[];
}

function resolve(schema: Schema, doc: OpenApiDocument): Schema {
  const ref = schema.$ref;
  if (typeof ref === 'string') {
    const name = ref.split('/').pop()!;
    return doc.components?.schemas?.[name] ?? {};
  }
  return schema;
}

/** Values the schema accepts (or very nearly: patterns other than "no NUL" are approximated). */
function validValue(
  raw: Schema,
  doc: OpenApiDocument,
  name: string,
  path: string,
  hints: Hints,
  depth = 0,
): fc.Arbitrary<unknown> {
  const schema = resolve(raw, doc);
  const known = hints.known(name, path);
  const own = ownValid(schema, doc, name, path, hints, depth);
  return known.length
    ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: own })
    : own;
}

function ownValid(
  schema: Schema,
  doc: OpenApiDocument,
  name: string,
  path: string,
  hints: Hints,
  depth: number,
): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (Array.isArray(schema.enum) && schema.enum.length) return fc.constantFrom(...schema.enum);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const alts = schema[key];
    if (Array.isArray(alts) && alts.length) {
      return fc.oneof(
        ...alts.map((s) => validValue(s as Schema, doc, name, path, hints, depth + 1)),
      );
    }
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length) {
    return validValue(
      Object.assign({}, ...(schema.allOf as Schema[])),
      doc,
      name,
      path,
      hints,
      depth,
    );
  }
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string': {
      if (schema.format === 'uuid') return fc.uuid();
      if (schema.format === 'date-time') {
        return fc
          .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z') })
          .filter((d) => !Number.isNaN(d.getTime()))
          .map((d) => d.toISOString());
      }
      if (schema.format === 'email') return fc.emailAddress();
      const minLength = Number(schema.minLength ?? 0);
      const maxLength = Math.min(Number(schema.maxLength ?? 40), 200);
      if (typeof schema.pattern === 'string' && schema.pattern !== STORABLE_TEXT_PATTERN) {
        const re = new RegExp(schema.pattern, 'u');
        return fc
          .stringMatching(re)
          .filter((s) => s.length >= minLength && s.length <= maxLength && !s.includes('\u0000'));
      }
      return fc.string({ minLength, maxLength: Math.max(minLength, maxLength) });
    }
    case 'integer':
      return fc.integer({
        min: Math.max(Number(schema.minimum ?? -(2 ** 31)), -(2 ** 31)),
        max: Math.min(Number(schema.maximum ?? 2 ** 31 - 1), 2 ** 31 - 1),
      });
    case 'number':
      return fc.double({
        min: Number(schema.minimum ?? -1e6),
        max: Number(schema.maximum ?? 1e6),
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const items = (schema.items as Schema | undefined) ?? {};
      return fc.array(
        depth > 4 ? fc.constant(null) : mixed(items, doc, name, path, hints, depth + 1),
        {
          minLength: Number(schema.minItems ?? 0),
          maxLength: Math.max(
            Number(schema.minItems ?? 0),
            Math.min(Number(schema.maxItems ?? 4), 4),
          ),
        },
      );
    }
    case 'object':
    default: {
      const props = (schema.properties as Record<string, Schema> | undefined) ?? {};
      if (type === undefined && !Object.keys(props).length) return hostileJson;
      if (depth > 4) return fc.constant({});
      const required = new Set((schema.required as string[] | undefined) ?? []);
      const record = fc.record(
        Object.fromEntries(
          Object.entries(props).map(([k, s]) => [k, mixed(s, doc, k, path, hints, depth + 1)]),
        ),
        { requiredKeys: [...required].filter((k) => k in props) },
      );
      const extra = schema.additionalProperties;
      if (extra && typeof extra === 'object') {
        return fc
          .tuple(
            record,
            fc.dictionary(
              fc.oneof(
                fc.string({ maxLength: 12 }),
                fc.constantFrom('champion', 'challenger', '1'),
              ),
              mixed(extra as Schema, doc, name, path, hints, depth + 1),
              { maxKeys: 4 },
            ),
          )
          .map(([a, b]) => ({ ...b, ...a }));
      }
      return record;
    }
  }
}

/** Mostly valid, sometimes a boundary or hostile value of any type. */
function mixed(
  schema: Schema,
  doc: OpenApiDocument,
  name: string,
  path: string,
  hints: Hints,
  depth: number,
): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 6, arbitrary: validValue(schema, doc, name, path, hints, depth) },
    { weight: 1, arbitrary: hostileString },
    { weight: 1, arbitrary: hostileNumber },
    { weight: 1, arbitrary: depth > 2 ? fc.constant(null) : hostileJson },
  );
}

/** Percent-encodes text; lone surrogates (no UTF-8 form) go as U+FFFD, as a client would send. */
function enc(s: string): string {
  return encodeURIComponent(Buffer.from(s, 'utf8').toString('utf8'));
}

/** A value written into a URL (path segment or query value). */
function asText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

/** How fast-check prints a counterexample: the request line and body, not the credentials. */
function printable(req: Omit<GeneratedRequest, typeof fc.toStringMethod>): GeneratedRequest {
  const body =
    req.payload === undefined
      ? ''
      : ` body(${req.headers['content-type'] ?? '-'}, ${req.payload.length} bytes): ${JSON.stringify(
          req.payload.toString('latin1').slice(0, 400),
        )}`;
  return { ...req, [fc.toStringMethod]: () => `${req.description}${body}` };
}

export interface GeneratedRequest {
  [fc.toStringMethod]: () => string;
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
  /** Whether every part was drawn from the schema's valid values (a 2xx is then plausible). */
  description: string;
}

const textSegment = fc.oneof(
  { weight: 4, arbitrary: hostileString.map((s) => enc(s)) },
  // Sent as typed: traversal and odd characters reach the router unencoded.
  {
    weight: 1,
    arbitrary: fc.constantFrom('..', '.', '%', '%zz', '..%2f..%2f', '%00', ';', '*', '~'),
  },
);

function pathArb(op: Operation, doc: OpenApiDocument, hints: Hints): fc.Arbitrary<string> {
  const names = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  if (!names.length) return fc.constant(op.path);
  const values = names.map((name) => {
    const param = op.parameters.find((p) => p.in === 'path' && p.name === name);
    return fc.oneof(
      {
        weight: 5,
        arbitrary: validValue(param?.schema ?? {}, doc, name, op.path, hints).map((v) =>
          enc(asText(v)),
        ),
      },
      { weight: 1, arbitrary: fc.uuid() },
      { weight: 1, arbitrary: hostileNumber.map((n) => enc(String(n))) },
      { weight: 2, arbitrary: textSegment },
    );
  });
  return fc.tuple(...values).map((vs) => {
    let i = 0;
    return op.path.replace(/\{\w+\}/g, () => vs[i++]!);
  });
}

function queryArb(op: Operation, doc: OpenApiDocument, hints: Hints): fc.Arbitrary<string> {
  const params = op.parameters.filter((p) => p.in === 'query');
  const perParam = params.map((p) =>
    fc.oneof(
      { weight: 2, arbitrary: fc.constant(undefined) },
      {
        weight: 5,
        arbitrary: validValue(p.schema, doc, p.name, op.path, hints),
      },
      { weight: 2, arbitrary: mixed(p.schema, doc, p.name, op.path, hints, 0) },
      // The same key twice: the parser gives the route an array.
      {
        weight: 1,
        arbitrary: fc.tuple(hostileString, hostileString).map((a) => ({ repeated: a })),
      },
    ),
  );
  const extras = fc.array(
    fc.tuple(
      fc.constantFrom(
        '__proto__',
        '__proto__[polluted]',
        'constructor[prototype][polluted]',
        'constructor',
        'a[b][c]',
        '',
        '%00',
        'limit',
        'offset',
      ),
      hostileString,
    ),
    { maxLength: 2 },
  );
  return fc.tuple(fc.tuple(...perParam), extras).map(([values, extra]) => {
    const parts: string[] = [];
    values.forEach((v, i) => {
      if (v === undefined) return;
      const name = enc(params[i]!.name);
      const repeated = (v as { repeated?: string[] } | null)?.repeated;
      const list = Array.isArray(v) ? v : (repeated ?? [v]);
      for (const item of list) parts.push(`${name}=${enc(asText(item))}`);
    });
    for (const [k, v] of extra) parts.push(`${enc(k)}=${enc(v)}`);
    return parts.length ? `?${parts.join('&')}` : '';
  });
}

function jsonBodyArb(
  op: Operation,
  doc: OpenApiDocument,
  hints: Hints,
): fc.Arbitrary<{ payload?: string; contentType?: string }> {
  const schema = op.body!.schema;
  const asJson = (v: unknown) => ({ payload: JSON.stringify(v), contentType: 'application/json' });
  return fc.oneof(
    { weight: 6, arbitrary: validValue(schema, doc, 'body', op.path, hints).map(asJson) },
    { weight: 3, arbitrary: mixed(schema, doc, 'body', op.path, hints, 0).map(asJson) },
    {
      weight: 1,
      arbitrary: validValue(schema, doc, 'body', op.path, hints).map((v) =>
        asJson(poisoned(typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {})),
      ),
    },
    {
      weight: 1,
      arbitrary: hostileBodyText.map((payload) => ({ payload, contentType: 'application/json' })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom(
            'text/plain',
            'application/x-www-form-urlencoded',
            'application/xml',
            'application/json; charset=utf-16',
            'multipart/form-data',
            'application/json\u0000',
          ),
          hostileBodyText,
        )
        .map(([contentType, payload]) => ({ payload, contentType })),
    },
    { weight: 1, arbitrary: fc.constant({}) },
  );
}

function multipartBodyArb(
  op: Operation,
  doc: OpenApiDocument,
  hints: Hints,
): fc.Arbitrary<{ payload?: Buffer | string; contentType?: string }> {
  const props = (op.body!.schema.properties as Record<string, Schema> | undefined) ?? {};
  const file = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...hints.files) },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ maxLength: 2048 })
        .map((b) => ({ name: 'random.bin', data: Buffer.from(b), contentType: 'image/png' })),
    },
  );
  const fieldParts = Object.entries(props).map(([name, s]) => {
    const isFile = s.format === 'binary';
    const isFileList = s.type === 'array' && (s.items as Schema | undefined)?.format === 'binary';
    if (isFile || isFileList) {
      return fc.array(file, { minLength: 0, maxLength: isFileList ? 4 : 2 }).map((files): Part[] =>
        files.map((f) => ({
          name,
          value: f.data,
          filename: f.name,
          contentType: f.contentType,
        })),
      );
    }
    return fc
      .option(fc.oneof(validValue(s, doc, name, op.path, hints).map(asText), hostileString), {
        freq: 2,
      })
      .map((v): Part[] => (v === null ? [] : [{ name, value: v }]));
  });
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .tuple(...fieldParts, fc.array(fc.tuple(hostileString, hostileString), { maxLength: 2 }))
        .map((all) => {
          const extra = all.pop() as [string, string][];
          const parts = (all as Part[][]).flat();
          for (const [name, value] of extra) parts.push({ name: name || 'x', value });
          const form = multipart(parts);
          return { payload: form.payload, contentType: form.headers['content-type'] };
        }),
    },
    // Broken multipart: no boundary, a wrong boundary, a truncated body, JSON instead.
    {
      weight: 2,
      arbitrary: fc.constantFrom(hints.files[0]!).chain((f) =>
        fc.constantFrom(
          { payload: f.data, contentType: 'multipart/form-data' },
          { payload: f.data, contentType: 'multipart/form-data; boundary=x' },
          {
            payload: multipart([
              { name: 'file', value: f.data, filename: 'a.png', contentType: 'image/png' },
            ]).payload.subarray(0, 60),
            contentType: 'multipart/form-data; boundary=nothere',
          },
          { payload: '{"file":"AAAA"}', contentType: 'application/json' },
          { payload: f.data, contentType: 'image/png' },
        ),
      ),
    },
  );
}

/** Whole requests for one operation, with the credentials given for its kind of auth. */
export function requestArb(
  op: Operation,
  doc: OpenApiDocument,
  hints: Hints,
  credentials: Record<string, string>,
): fc.Arbitrary<GeneratedRequest> {
  const body =
    op.body?.type === 'json'
      ? jsonBodyArb(op, doc, hints)
      : op.body?.type === 'multipart'
        ? multipartBodyArb(op, doc, hints)
        : fc.constant({} as { payload?: string | Buffer; contentType?: string });
  return fc
    .tuple(pathArb(op, doc, hints), queryArb(op, doc, hints), body)
    .map(([path, query, b]) => {
      const headers: Record<string, string> = { ...credentials };
      if (b.contentType !== undefined) headers['content-type'] = b.contentType;
      return printable({
        method: op.method,
        url: path + query,
        headers,
        payload: b.payload,
        description: `${op.method} ${path + query}`,
      });
    });
}

/**
 * Requests the route must refuse: a required part is missing or of a type no coercion turns
 * into the declared one (an object where a scalar is declared, a number where an object is).
 * Every one must end in a 4xx and leave the data as it was.
 */
export function invalidRequestArb(
  op: Operation,
  doc: OpenApiDocument,
  hints: Hints,
  credentials: Record<string, string>,
): fc.Arbitrary<GeneratedRequest> | undefined {
  if (op.body?.type !== 'json') return undefined;
  const schema = resolve(op.body.schema, doc);
  const props = (schema.properties as Record<string, Schema> | undefined) ?? {};
  const names = Object.keys(props);
  const base = validValue(schema, doc, 'body', op.path, hints);
  // The body itself of the wrong type.
  const breakers: fc.Arbitrary<string>[] =
    schema.type === 'object' ? [fc.constantFrom('123', '"text"', 'true', '[1,2]')] : [];
  if (names.length) {
    breakers.push(
      fc.tuple(base, fc.constantFrom(...names), hostileString).map(([v, name, s]) => {
        const declared = resolve(props[name]!, doc);
        const obj = { ...(typeof v === 'object' && v !== null ? v : {}) } as Record<
          string,
          unknown
        >;
        // An object is never coerced to a scalar; a number is never an object or array.
        obj[name] =
          declared.type === 'object' || declared.type === 'array' ? 42.5 : poisoned({ nested: s });
        return JSON.stringify(obj);
      }),
    );
  }
  const bodyText = fc.oneof(
    ...breakers,
    hostileBodyText.filter((t) => !isValidJsonObject(t)),
  );
  return fc
    .tuple(pathArb(op, doc, hints), queryArb(op, doc, hints), bodyText)
    .map(([path, query, payload]) =>
      printable({
        method: op.method,
        url: path + query,
        headers: { ...credentials, 'content-type': 'application/json' },
        payload,
        description: `${op.method} ${path + query} (invalid body)`,
      }),
    );
}

/** Bodies like `{}` may be valid for a route whose fields are all optional. */
function isValidJsonObject(text: string): boolean {
  try {
    // Fastify drops a leading byte-order mark before parsing, as it should.
    const v = JSON.parse(text.replace(/^\uFEFF/, ''));
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}
