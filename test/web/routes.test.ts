// What the api role serves for the dashboard: the SPA at `/` with client-side routes, and the
// routes its pages need (audit log, thumbnails of kept images, the model card's confusion matrix).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { addMember, createFarm, createUnit } from '../farms/helpers.ts';
import { signedInUser, startTestApp, type TestApp, type TestUser } from '../support/app.ts';
import { imageForm, noisePng } from '../support/images.ts';
import { shippedModelSkip } from '../support/models.ts';

describe('dashboard routes', { skip: shippedModelSkip }, () => {
  let t: TestApp;
  let admin: TestUser;
  let viewer: TestUser;

  before(async () => {
    t = await startTestApp({ serving: true });
    admin = await signedInUser(t, 'admin');
    viewer = await signedInUser(t, 'viewer');
  });
  after(() => t?.close());

  test('the dashboard is served at / and for its client-side routes, never for API paths', async () => {
    for (const url of ['/', '/classify', '/farms/abc/units/def']) {
      const res = await t.app.inject({ url });
      assert.equal(res.statusCode, 200, url);
      assert.match(String(res.headers['content-type']), /text\/html/);
      assert.match(res.body, /<title>AquaML<\/title>/);
      assert.equal(res.headers['cache-control'], 'no-cache');
    }
    for (const url of ['/api/v1/nope', '/health/nope', '/docs/nope']) {
      const res = await t.app.inject({ url });
      assert.equal(res.statusCode, 404, url);
      assert.match(String(res.headers['content-type']), /application\/problem\+json/, url);
    }
    // Under /v2 a 404 speaks the Open Inference Protocol: {error}.
    const v2 = await t.app.inject({ url: '/v2/nope' });
    assert.equal(v2.statusCode, 404);
    assert.ok((v2.json() as { error?: string }).error);
    const spec = (await t.app.inject({ url: '/docs/json' })).json() as { paths: object };
    assert.ok(
      !('/' in spec.paths) && !('/*' in spec.paths),
      'the dashboard is not in the API docs',
    );
  });

  test('the audit log is for admins, newest first, filtered by action', async () => {
    const denied = await t.app.inject({ url: '/api/v1/audit', headers: viewer.headers });
    assert.equal(denied.statusCode, 403);
    const res = await t.app.inject({
      url: '/api/v1/audit?action=auth.login&limit=5',
      headers: admin.headers,
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as { items: { action: string; created_at: string }[]; total: number };
    assert.ok(body.total >= 2, 'both sign-ins are recorded');
    assert.ok(body.items.every((e) => e.action === 'auth.login'));
    const times = body.items.map((e) => Date.parse(e.created_at));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
    );
    const bad = await t.app.inject({
      url: '/api/v1/audit?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z',
      headers: admin.headers,
    });
    assert.equal(bad.statusCode, 400);
  });

  test('a kept image has a WebP thumbnail; an unknown prediction is a 404', async () => {
    const form = imageForm(await noisePng(120, 90, 7));
    const classified = await t.app.inject({
      method: 'POST',
      url: '/api/v1/predictions/classify',
      payload: form.payload,
      headers: { ...form.headers, ...viewer.headers },
    });
    assert.equal(classified.statusCode, 200, classified.body);
    const id = (classified.json() as { prediction_id: string }).prediction_id;
    // The image is written after the answer: give the archive a moment.
    let res = await t.app.inject({
      url: `/api/v1/predictions/${id}/thumbnail`,
      headers: viewer.headers,
    });
    for (let i = 0; i < 40 && res.statusCode === 404; i++) {
      await new Promise((ok) => setTimeout(ok, 50));
      res = await t.app.inject({
        url: `/api/v1/predictions/${id}/thumbnail`,
        headers: viewer.headers,
      });
    }
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'image/webp');
    const meta = await sharp(res.rawPayload).metadata();
    assert.equal(meta.format, 'webp');
    assert.equal(meta.width, 160);
    const missing = await t.app.inject({
      url: '/api/v1/predictions/00000000-0000-4000-8000-000000000000/thumbnail',
      headers: viewer.headers,
    });
    assert.equal(missing.statusCode, 404);
    const anonymous = await t.app.inject({ url: `/api/v1/predictions/${id}/thumbnail` });
    assert.equal(anonymous.statusCode, 401);
  });

  test("a farm prediction's thumbnail is a 404 to non-members of the farm, like its history", async () => {
    const farmId = await createFarm(t, admin, 'Thumbnail farm');
    const unitId = await createUnit(t, admin, farmId);
    const form = imageForm(await noisePng(120, 90, 8), { unit_id: unitId });
    const classified = await t.app.inject({
      method: 'POST',
      url: '/api/v1/predictions/classify',
      payload: form.payload,
      headers: { ...form.headers, ...admin.headers },
    });
    assert.equal(classified.statusCode, 200, classified.body);
    const url = `/api/v1/predictions/${(classified.json() as { prediction_id: string }).prediction_id}/thumbnail`;
    // The image is written after the answer: wait until the farm's manager can see it.
    let res = await t.app.inject({ url, headers: admin.headers });
    for (let i = 0; i < 40 && res.statusCode === 404; i++) {
      await new Promise((ok) => setTimeout(ok, 50));
      res = await t.app.inject({ url, headers: admin.headers });
    }
    assert.equal(res.statusCode, 200, res.body);
    const outsider = await t.app.inject({ url, headers: viewer.headers });
    assert.equal(outsider.statusCode, 404, outsider.body);
    assert.match(outsider.json().detail, /No prediction/);
    await addMember(t, admin, farmId, viewer.id, 'viewer');
    const member = await t.app.inject({ url, headers: viewer.headers });
    assert.equal(member.statusCode, 200, member.body);
    assert.equal(member.headers['content-type'], 'image/webp');
  });

  test("a version's confusion matrix is served as a sandboxed SVG", async () => {
    const res = await t.app.inject({
      url: '/api/v1/models/species/versions/1/confusion.svg',
      headers: viewer.headers,
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /image\/svg\+xml/);
    assert.match(String(res.headers['content-security-policy']), /sandbox/);
    assert.match(res.body, /<svg/);
    const missing = await t.app.inject({
      url: '/api/v1/models/species/versions/999/confusion.svg',
      headers: viewer.headers,
    });
    assert.equal(missing.statusCode, 404);
  });
});
