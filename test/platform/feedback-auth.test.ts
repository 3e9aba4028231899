// Who may label predictions, what is recorded about them, and what retraining learns from.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { predictions } from '../../src/db/schema.ts';
import { signedInUser, startTestApp, type TestApp, type TestUser } from '../support/app.ts';
import { imageForm, noisePng } from '../support/images.ts';
import { shippedModelSkip } from '../support/models.ts';

async function classify(t: TestApp, headers: Record<string, string>, seed: number) {
  const form = imageForm(await noisePng(64, 64, seed));
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/predictions/classify?health=false',
    payload: form.payload,
    headers: { ...form.headers, ...headers },
  });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as { prediction_id: string; label: string };
}

function feedback(t: TestApp, id: string, label: string, headers: Record<string, string>) {
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/predictions/${id}/feedback`,
    payload: { label, note: 'checked at the tank' },
    headers,
  });
}

describe('feedback needs an operator by default', { skip: shippedModelSkip }, () => {
  let t: TestApp;
  let viewer: TestUser;
  let operator: TestUser;
  before(async () => {
    // Tasks are not run: the retrain below is only accepted, its counts are what is checked.
    t = await startTestApp({ serving: true, context: { runTasks: false } });
    viewer = await signedInUser(t, 'viewer');
    operator = await signedInUser(t, 'operator');
  });
  after(() => t?.close());

  test('a viewer cannot label a prediction, not even its own: 403 and nothing stored', async () => {
    const mine = await classify(t, viewer.headers, 11);
    const res = await feedback(t, mine.prediction_id, mine.label, viewer.headers);
    assert.equal(res.statusCode, 403, res.body);
    assert.match(res.json().detail, /operator/);
    await t.ctx.predictions.writer.flush();
    const [row] = await t.ctx.db
      .select()
      .from(predictions)
      .where(eq(predictions.id, mine.prediction_id));
    assert.equal(row!.feedbackLabel, null);
  });

  test('an operator label is stored with who gave it; an API key is recorded as the giver', async () => {
    const p = await classify(t, viewer.headers, 12);
    const res = await feedback(t, p.prediction_id, p.label, operator.headers);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json().feedback.by, {
      user_id: operator.id,
      api_key_id: null,
      role: 'operator',
    });
    const [row] = await t.ctx.db
      .select()
      .from(predictions)
      .where(eq(predictions.id, p.prediction_id));
    assert.equal(row!.feedbackBy, operator.id);
    assert.equal(row!.feedbackRole, 'operator');

    const { key, row: keyRow } = await t.ctx.apiKeys.create({
      name: 'bench-camera',
      role: 'operator',
      createdBy: null,
    });
    const q = await classify(t, viewer.headers, 13);
    const byKey = await feedback(t, q.prediction_id, q.label, { 'x-api-key': key });
    assert.equal(byKey.statusCode, 200, byKey.body);
    assert.deepEqual(byKey.json().feedback.by, {
      user_id: null,
      api_key_id: keyRow.id,
      role: 'operator',
    });
  });

  test('retrain counts only operator and admin labels by default and says who gave them', async () => {
    const labels = (await t.ctx.registry.resolve('species')).manifest.labels as string[];
    const a = await classify(t, viewer.headers, 21);
    const b = await classify(t, viewer.headers, 22);
    assert.equal(
      (await feedback(t, a.prediction_id, labels[0]!, operator.headers)).statusCode,
      200,
    );
    // A viewer's label (allowed by AQUAML_FEEDBACK_ALLOW_AUTHOR, or given before roles were kept).
    await t.ctx.db
      .update(predictions)
      .set({
        feedbackLabel: labels[1]!,
        feedbackRole: 'viewer',
        feedbackBy: viewer.id,
        feedbackAt: new Date(),
      })
      .where(eq(predictions.id, b.prediction_id));

    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/models/species/retrain',
      payload: {},
      headers: operator.headers,
    });
    assert.equal(res.statusCode, 202, res.body);
    const summary = res.json().feedback;
    // The two labels of the test above (operator user and operator key) and this one.
    assert.equal(summary.labels, 3);
    assert.deepEqual(summary.by_role, { operator: 3 });
    assert.equal(summary.untrusted_ignored, 1);
    const giver = summary.by_giver.find((g: { user_id: string }) => g.user_id === operator.id);
    assert.equal(giver.labels, 2);
    assert.ok(!summary.by_giver.some((g: { user_id: string }) => g.user_id === viewer.id));

    const all = await t.app.inject({
      method: 'POST',
      url: '/api/v1/models/species/retrain',
      payload: { include_viewer_feedback: true },
      headers: operator.headers,
    });
    assert.equal(all.statusCode, 202, all.body);
    assert.equal(all.json().feedback.labels, 4);
    assert.equal(all.json().feedback.by_role.viewer, 1);
  });
});

describe(
  'AQUAML_FEEDBACK_ALLOW_AUTHOR lets a viewer label its own predictions only',
  { skip: shippedModelSkip },
  () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({
        serving: true,
        context: { runTasks: false },
        overrides: { AQUAML_FEEDBACK_ALLOW_AUTHOR: 'true' },
      });
    });
    after(() => t?.close());

    test("own prediction 200 (recorded as a viewer label), someone else's 403", async () => {
      const author = await signedInUser(t, 'viewer');
      const other = await signedInUser(t, 'viewer');
      const mine = await classify(t, author.headers, 31);
      const theirs = await classify(t, other.headers, 32);
      const ok = await feedback(t, mine.prediction_id, mine.label, author.headers);
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().feedback.by.role, 'viewer');
      const denied = await feedback(t, theirs.prediction_id, theirs.label, author.headers);
      assert.equal(denied.statusCode, 403, denied.body);
    });
  },
);
