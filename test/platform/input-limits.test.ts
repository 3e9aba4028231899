import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { isSaneDateTime } from '../../src/http/input-limits.ts';
import { signedInUser, startTestApp, type TestApp, type TestUser } from '../support/app.ts';

let t: TestApp;
let admin: TestUser;
before(async () => {
  t = await startTestApp();
  admin = await signedInUser(t, 'admin');
});
after(() => t.close());

/** A 400 problem+json whose errors name `field`, never a 500. */
async function assertRejects(
  request: { method: string; url: string; payload?: unknown; auth?: boolean },
  field: string,
) {
  const res = await t.app.inject({
    method: request.method as 'GET',
    url: request.url,
    payload: request.payload as object,
    headers: request.auth === false ? {} : admin.headers,
  });
  assert.equal(res.statusCode, 400, `${request.method} ${request.url}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /application\/problem\+json/);
  const body = res.json();
  const fields = (body.errors ?? []).map((e: { field: string }) => e.field);
  assert.ok(fields.includes(field), `${field} not in ${JSON.stringify(body)}`);
  return body;
}

describe('integers beyond 2^31-1 are a 400 naming the field', () => {
  test('a version in the path', async () => {
    await assertRejects(
      { method: 'GET', url: '/api/v1/models/species/versions/2147483648' },
      'params.version',
    );
  });

  test('a version in a query filter', async () => {
    const body = await assertRejects(
      { method: 'GET', url: '/api/v1/predictions/history?model_version=2147483648' },
      'querystring.model_version',
    );
    assert.match(body.detail, /at most 2147483647/);
  });

  test('a version in a body', async () => {
    await assertRejects(
      {
        method: 'POST',
        url: '/api/v1/models/species/promote',
        payload: { version: 2147483648 },
      },
      'body.version',
    );
  });

  test('a traffic key', async () => {
    await assertRejects(
      {
        method: 'PUT',
        url: '/api/v1/models/species/traffic',
        payload: { champion: 50, '2147483648': 50 },
      },
      'body.2147483648',
    );
  });

  test('a page offset', async () => {
    await assertRejects(
      { method: 'GET', url: '/api/v1/users?offset=2147483648' },
      'querystring.offset',
    );
  });

  test('a version given as text (retrain base) is a 400, not a database error', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/models/species/retrain',
      payload: { base: '2147483648' },
      headers: admin.headers,
    });
    assert.equal(res.statusCode, 400, res.body);
  });
});

describe('NUL characters are a 400 naming the field', () => {
  test('the username of the unauthenticated login', async () => {
    const body = await assertRejects(
      {
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: 'ad\u0000min', password: 'whatever-long' },
        auth: false,
      },
      'body.username',
    );
    assert.match(body.detail, /NUL/);
  });

  test('an API key name', async () => {
    await assertRejects(
      { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'cam\u0000', role: 'viewer' } },
      'body.name',
    );
  });

  test('a query filter', async () => {
    await assertRejects(
      { method: 'GET', url: '/api/v1/predictions/history?species=a%00b' },
      'querystring.species',
    );
  });

  test('a feedback note', async () => {
    await assertRejects(
      {
        method: 'POST',
        url: `/api/v1/predictions/${randomUUID()}/feedback`,
        payload: { label: 'unknown', note: 'bad\u0000note' },
      },
      'body.note',
    );
  });
});

describe('date-times outside years 1..9999 are a 400 naming the field', () => {
  test('year 0000 in a query filter', async () => {
    await assertRejects(
      { method: 'GET', url: '/api/v1/predictions/history?from=0000-01-01T00:00:00Z' },
      'querystring.from',
    );
  });

  test('a five-digit year and 31 February in a body', async () => {
    for (const value of ['10000-01-01T00:00:00Z', '2027-02-31T00:00:00Z']) {
      await assertRejects(
        {
          method: 'POST',
          url: '/api/v1/api-keys',
          payload: { name: 'cam', role: 'viewer', expires_at: value },
        },
        'body.expires_at',
      );
    }
  });

  test('the format accepts the edges and offsets', () => {
    assert.ok(isSaneDateTime('0001-01-01T00:00:00Z'));
    assert.ok(isSaneDateTime('9999-12-31T23:59:59.999Z'));
    assert.ok(isSaneDateTime('2028-02-29T12:00:00+02:00'));
    assert.ok(!isSaneDateTime('0001-01-01T00:00:00+01:00'));
    assert.ok(!isSaneDateTime('2027-13-01T00:00:00Z'));
  });
});

test('every string a route accepts excludes NUL, every integer is bounded (checked on the OpenAPI)', async () => {
  const spec = (await t.app.inject('/docs/json')).json();
  const problems: string[] = [];
  const visit = (schema: unknown, where: string): void => {
    if (Array.isArray(schema)) return schema.forEach((s, i) => visit(s, `${where}[${i}]`));
    if (!schema || typeof schema !== 'object') return;
    const s = schema as Record<string, unknown>;
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (types.includes('string') && s.enum === undefined && s.const === undefined) {
      if (typeof s.pattern === 'string') {
        if (new RegExp(s.pattern, 'u').test('a\u0000')) problems.push(`${where}: ${s.pattern}`);
      } else if (s.format === undefined) {
        problems.push(`${where}: unbounded string`);
      }
    }
    if (types.includes('integer') && (s.maximum === undefined || s.minimum === undefined)) {
      problems.push(`${where}: unbounded integer`);
    }
    for (const [k, v] of Object.entries(s))
      if (k !== 'example' && k !== 'default') visit(v, `${where}.${k}`);
  };
  for (const [path, methods] of Object.entries(spec.paths as Record<string, object>)) {
    for (const [method, op] of Object.entries(methods as Record<string, Record<string, unknown>>)) {
      visit(op.parameters, `${method} ${path} parameters`);
      // Multipart form fields are parsed by the route itself (optionalId checks them).
      const content = (op.requestBody as { content?: Record<string, unknown> } | undefined)
        ?.content;
      visit(content?.['application/json'], `${method} ${path} body`);
    }
  }
  assert.deepEqual(problems, []);
});
