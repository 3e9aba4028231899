// Defects the endpoint fuzzer (test/fuzz) found, each kept as a plain regression test over HTTP.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { signedInUser, startTestApp, type TestApp, type TestUser } from '../support/app.ts';
import { multipart, noisePng } from '../support/images.ts';

let t: TestApp;
let admin: TestUser;
before(async () => {
  t = await startTestApp({ context: { runTasks: false } });
  admin = await signedInUser(t, 'admin');
});
after(() => t.close());

function assertProblem(
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
  status: number,
) {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /application\/problem\+json/);
}

test('a multipart body without its closing boundary is a 400, not a 500', async () => {
  const form = multipart([
    { name: 'file', value: await noisePng(32, 24, 5), filename: 'a.png', contentType: 'image/png' },
  ]);
  for (const [payload, contentType] of [
    // The boundary named in the header never occurs in the body.
    [form.payload, 'multipart/form-data; boundary=x'],
    // Cut off in the middle of the file.
    [form.payload.subarray(0, 120), form.headers['content-type']!],
  ] as const) {
    for (const url of [
      '/api/v1/predictions/classify',
      '/api/v1/ml/predict',
      '/api/v1/ml/predict/batch',
    ]) {
      const res = await t.app.inject({
        method: 'POST',
        url,
        payload: payload,
        headers: { ...admin.headers, 'content-type': contentType },
      });
      assertProblem(res, 400);
      assert.match(res.json().detail, /multipart/);
    }
  }
});

test('a NUL in a multipart text field is a 400 naming the field, not a 500', async () => {
  // Form fields skip the JSON schemas; a model name with a NUL reached the database (500).
  const image = await noisePng(32, 24, 6);
  for (const url of [
    '/api/v1/predictions/classify',
    '/api/v1/ml/predict',
    '/api/v1/ml/predict/async',
    '/api/v1/ml/predict/batch?async=true',
  ]) {
    const form = multipart([
      {
        name: url.includes('batch') ? 'files' : 'file',
        value: image,
        filename: 'a.png',
        contentType: 'image/png',
      },
      { name: 'model', value: 'a\u0000b' },
    ]);
    const res = await t.app.inject({
      method: 'POST',
      url,
      payload: form.payload,
      headers: { ...admin.headers, ...form.headers },
    });
    assertProblem(res, 400);
    assert.equal(res.json().errors?.[0]?.field ?? 'body.model', 'body.model', res.body);
    assert.match(res.json().detail, /NUL/);
  }
});

test('a confidence bound too small for the stored type filters instead of failing (500)', async () => {
  for (const url of [
    '/api/v1/predictions/history?min_confidence=5.6e-254',
    '/api/v1/predictions/stats?min_confidence=1e-300',
  ]) {
    const res = await t.app.inject({ url, headers: admin.headers });
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
  }
});

test('Infinity in a number or integer (query text "Infinity", "1e309") is a 400 naming the field', async () => {
  for (const [url, field] of [
    ['/api/v1/models/all?limit=1e309', 'querystring.limit'],
    ['/api/v1/users?offset=Infinity', 'querystring.offset'],
    ['/api/v1/predictions/history?min_confidence=-Infinity', 'querystring.min_confidence'],
  ] as const) {
    const res = await t.app.inject({ url, headers: admin.headers });
    assertProblem(res, 400);
    assert.deepEqual(
      res.json().errors.map((e: { field: string }) => e.field),
      [field],
    );
    assert.match(res.json().detail, /finite/);
  }
});

test('a query field named like a field of the answer does not overwrite it (?model= on the species list)', async () => {
  const res = await t.app.inject({
    url: '/api/v1/predictions/species?model=species&limit=2',
    headers: admin.headers,
  });
  // Without a served model the list is a 503; with one, its model is an object, not the query text.
  if (res.statusCode === 503) return;
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().model.name, 'species');
  assert.equal(res.json().items.length, 2);
});

test('URLs the router refuses (an overlong path segment, bad percent-encoding) answer problem+json', async () => {
  for (const [url, status] of [
    [`/api/v1/units/${'a'.repeat(150)}`, 414],
    ['/api/v1/farms/%zz', 400],
  ] as const) {
    const res = await t.app.inject({ url, headers: admin.headers });
    assertProblem(res, status);
    assert.equal(res.json().status, status);
  }
});

test('an unknown water-quality key in a species update is a 400 naming it, not a 500', async () => {
  const res = await t.app.inject({
    method: 'PATCH',
    url: '/api/v1/species/rainbow-trout',
    headers: admin.headers,
    payload: { water_quality: { 'no-such-key': { min: 1, max: 2, source: 'a source' } } },
  });
  assertProblem(res, 400);
  assert.match(res.json().detail, /no-such-key/);
});

test('an unpaired surrogate in any text is a 400 naming the field, and nothing is stored', async () => {
  const before = await t.app.inject({ url: '/api/v1/api-keys?limit=500', headers: admin.headers });
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/api-keys',
    headers: { ...admin.headers, 'content-type': 'application/json' },
    // As JSON text: the escapes decode to lone surrogates.
    payload: '{"name":"cam\\udfff\\ud800","role":"viewer"}',
  });
  assertProblem(res, 400);
  assert.deepEqual(
    res.json().errors.map((e: { field: string }) => e.field),
    ['body.name'],
  );
  const after = await t.app.inject({ url: '/api/v1/api-keys?limit=500', headers: admin.headers });
  assert.equal(after.json().total, before.json().total);
  // A valid pair (an emoji) is fine.
  const ok = await t.app.inject({
    method: 'POST',
    url: '/api/v1/api-keys',
    headers: admin.headers,
    payload: { name: 'cam 🐟', role: 'viewer' },
  });
  assert.equal(ok.statusCode, 201, ok.body);
});

test('a reading step too long for PostgreSQL intervals is a 400 naming step, not a 500', async () => {
  const farm = await t.app.inject({
    method: 'POST',
    url: '/api/v1/farms',
    headers: admin.headers,
    payload: { name: 'steps' },
  });
  const unit = await t.app.inject({
    method: 'POST',
    url: `/api/v1/farms/${farm.json().id}/units`,
    headers: admin.headers,
    payload: { name: 'tank', kind: 'tank', species: 'nile-tilapia' },
  });
  const id = unit.json().id;
  for (const step of ['9007199254740991', '367d']) {
    const res = await t.app.inject({
      url: `/api/v1/units/${id}/readings?metric=ph&step=${step}`,
      headers: admin.headers,
    });
    assertProblem(res, 400);
    assert.equal(res.json().errors[0].field, 'querystring.step');
  }
  const ok = await t.app.inject({
    url: `/api/v1/units/${id}/readings?metric=ph&step=366d`,
    headers: admin.headers,
  });
  assert.equal(ok.statusCode, 200, ok.body);
});
