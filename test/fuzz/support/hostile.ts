// Values an attacker or a broken device sends: boundary numbers, hostile strings, deep and poisoned
// JSON. Shared by the endpoint fuzzer (generated from the OpenAPI document) and the parser fuzzers.
import fc from 'fast-check';

/** Cases per property: FUZZ_RUNS, 1000 by default (issue 15: at least 1,000 per endpoint in CI). */
export const FUZZ_RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 1000));

/**
 * One seed for the whole file, printed so a failure can be replayed with FUZZ_SEED=<seed>
 * (fast-check also prints the seed and path of a counterexample).
 */
export const FUZZ_SEED = process.env.FUZZ_SEED
  ? Number(process.env.FUZZ_SEED)
  : (Date.now() ^ (process.pid << 8)) >>> 1;

export function announceSeed(suite: string): void {
  process.stdout.write(
    `# fuzz ${suite}: seed ${FUZZ_SEED}, ${FUZZ_RUNS} cases per property (replay: FUZZ_SEED=${FUZZ_SEED} FUZZ_RUNS=${FUZZ_RUNS})\n`,
  );
}

export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '%00',
  '\uFEFF',
  '\u202Eevil',
  '\uD800',
  '\uDFFF\uD800',
  '🐟'.repeat(50),
  'ǅ\u0301\u0301\u0301',
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  '1; SELECT pg_sleep(10)',
  '" OR ""="',
  '../../../../etc/passwd',
  '..\\..\\..\\windows\\win.ini',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '/etc/passwd',
  'file:///etc/passwd',
  '<script>alert(1)</script>',
  '${jndi:ldap://127.0.0.1/x}',
  '{{7*7}}',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '-0',
  '0x10',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '2147483648',
  '-2147483649',
  '9007199254740993',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '0000-01-01T00:00:00Z',
  '10000-01-01T00:00:00Z',
  '2026-02-30T00:00:00Z',
  '1970-01-01T00:00:00Z',
  'a'.repeat(256),
  'a'.repeat(5000),
  'x'.repeat(70_000),
];

export const HOSTILE_NUMBERS: readonly number[] = [
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  2_147_483_647,
  2_147_483_648,
  -2_147_483_648,
  -2_147_483_649,
  4_294_967_296,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  -Number.MAX_SAFE_INTEGER,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  1e-300,
  1e21,
];

/** Keys that poison prototypes when code merges objects carelessly. */
export const POISON_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

export const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
);

export const hostileNumber = fc.oneof(
  fc.constantFrom(...HOSTILE_NUMBERS),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
);

/** A JSON value nested `depth` levels deep (arrays or objects alternating). */
export function deepJson(depth: number, leaf: unknown = 1): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

/** An object whose own keys include prototype-pollution keys, as JSON.parse would produce. */
export function poisoned(base: Record<string, unknown> = {}): Record<string, unknown> {
  const o = Object.create(null) as Record<string, unknown>;
  Object.assign(o, base);
  // On a null-prototype object these are plain own properties, so JSON.stringify writes them.
  o.__proto__ = { polluted: 'yes', isAdmin: true, role: 'admin' };
  o['constructor'] = { prototype: { polluted: 'yes' } } as unknown;
  return o;
}

/** Any JSON value, including hostile ones: wrong types, deep nesting, poisoned keys. */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  { weight: 2, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(8, 64, 2000).map((d) => deepJson(d)) },
  { weight: 1, arbitrary: fc.constant(null).map(() => poisoned()) },
);

/** Raw request bodies that are not what the route expects at all. */
export const hostileBodyText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    '{',
    '{"a":',
    'null',
    '[]',
    '"x"',
    '1e999',
    'NaN',
    '{"__proto__":{"polluted":"yes"}}',
    '{"constructor":{"prototype":{"polluted":"yes"}}}',
    '{"a":1,"a":2}',
    '\u0000',
    '\uFEFF{}',
    `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
    `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`,
  ),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
);

const BUILTIN_OBJECT_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));

/** Fails if any fuzz case managed to add a property to Object.prototype. */
export function assertPrototypeClean(): void {
  const leaked = Object.getOwnPropertyNames(Object.prototype).filter(
    (k) => !BUILTIN_OBJECT_KEYS.has(k),
  );
  const probe = {} as Record<string, unknown>;
  if (leaked.length || probe.polluted !== undefined || probe.isAdmin !== undefined) {
    throw new Error(`Object.prototype was polluted: ${leaked.join(', ')}`);
  }
}
