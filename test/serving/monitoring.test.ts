// Drift (PSI against the training reference) and accuracy-from-feedback monitoring raise alerts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { alerts } from '../../src/db/schema.ts';
import { ALERTS_TOPIC } from '../../src/serving/drift-monitor.ts';
import { signedInUser, startTestApp, type TestApp, type TestUser } from '../support/app.ts';
import { imageForm, noisePng } from '../support/images.ts';
import { shippedModelSkip } from '../support/models.ts';

let t: TestApp;
let user: TestUser;
before(async () => {
  if (shippedModelSkip) return;
  t = await startTestApp({
    serving: true,
    overrides: {
      AQUAML_DRIFT_MIN_SAMPLES: '20',
      AQUAML_ACCURACY_MIN_FEEDBACK: '5',
      AQUAML_PREDICTION_CACHE: 'false',
    },
  });
  user = await signedInUser(t, 'operator');
});
after(() => t?.close());

test(
  'non-fish traffic drifts from the reference; wrong answers drop the rolling accuracy',
  { skip: shippedModelSkip },
  async () => {
    const announced: { kind: string }[] = [];
    await t.ctx.bus.subscribe<{ kind: string }>(ALERTS_TOPIC, (a) => void announced.push(a));
    const ids: { id: string; label: string }[] = [];
    for (let i = 0; i < 25; i++) {
      const form = imageForm(await noisePng(64, 64, 4000 + i));
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/predictions/classify?health=false',
        payload: form.payload,
        headers: { ...form.headers, ...user.headers },
      });
      ids.push({ id: res.json().prediction_id, label: res.json().label });
    }
    const labels = (await t.ctx.registry.resolve('species')).manifest.labels as string[];
    for (const { id, label } of ids.slice(0, 6)) {
      const wrong = labels.find((l) => l !== label)!;
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/v1/predictions/${id}/feedback`,
        headers: user.headers,
        payload: { label: wrong },
      });
      assert.equal(res.statusCode, 200);
    }
    const reports = await t.ctx.serving.drift.check();
    const species = reports.find((r) => r.model === 'species')!;
    assert.equal(species.drifted, true, JSON.stringify(species));
    assert.ok(species.psi.ood_score! > 0.25);

    const rows = await t.ctx.db.select().from(alerts).where(eq(alerts.source, 'model:species@1'));
    assert.deepEqual(rows.map((r) => r.kind).sort(), ['model_accuracy', 'model_drift']);
    // A second check within the cooldown does not repeat them.
    await t.ctx.serving.drift.check();
    assert.equal(
      (await t.ctx.db.select().from(alerts).where(eq(alerts.source, 'model:species@1'))).length,
      2,
    );
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(announced.map((a) => a.kind).sort(), ['model_accuracy', 'model_drift']);

    const stats = (
      await t.app.inject({ url: '/api/v1/models/stats', headers: user.headers })
    ).json();
    const v1 = stats.items.find(
      (s: { name: string; version: number }) => s.name === 'species' && s.version === 1,
    );
    assert.equal(v1.feedback.count, 6);
    assert.equal(v1.feedback.accuracy, 0);
    assert.equal(v1.drift.drifted, true);
    assert.equal(v1.requests, 25);
    assert.ok(v1.latency_ms.p50 > 0 && v1.latency_ms.p99 >= v1.latency_ms.p50);
  },
);
