// kill -9 in the middle of a burst (issue 8, defect 4): every prediction answered 200 is stored,
// dated when its request arrived. Runs on the embedded database, and on PostgreSQL when
// DATABASE_URL is set.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { type RunningServer, startServer } from '../../bench/support/server.ts';
import { isolatedDatabase, PASSWORD, unique } from '../support/app.ts';
import { multipart, noisePng } from '../support/images.ts';
import { shippedModelSkip } from '../support/models.ts';

const BURST = 80;
const KILL_AFTER = 12;

interface Answered {
  id: string;
  sentAt: number;
  answeredAt: number;
}

async function signIn(url: string, username: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { access_token: string }).access_token;
}

test(
  'SIGKILL mid-burst: every prediction answered 200 is found after a restart',
  { skip: shippedModelSkip, timeout: 300_000 },
  async () => {
    const db = await isolatedDatabase();
    const admin = unique('kill');
    const env = {
      ...db.overrides,
      NODE_ENV: 'test',
      AQUAML_DATA_DIR: db.dataDir,
      AQUAML_PREDICTION_CACHE: 'false',
      AQUAML_REDIS_PREFIX: unique('kill'),
      RATE_LIMIT_MAX: '100000',
      AQUAML_ADMIN_USERNAME: admin,
      AQUAML_ADMIN_EMAIL: `${admin}@example.org`,
      AQUAML_ADMIN_PASSWORD: PASSWORD,
    };
    let server: RunningServer | undefined;
    try {
      server = await startServer(env, { waitFor: '/ready' });
      const first = server;
      const token = await signIn(first.url, admin);
      const forms = await Promise.all(
        Array.from({ length: BURST }, async (_, i) =>
          multipart([
            {
              name: 'file',
              value: await noisePng(110, 80, 7000 + i),
              filename: `${i}.png`,
              contentType: 'image/png',
            },
          ]),
        ),
      );
      const answered: Answered[] = [];
      const exited = new Promise((resolve) => first.process.once('exit', resolve));
      const sent = forms.map(async (form) => {
        const sentAt = Date.now();
        try {
          const res = await fetch(`${first.url}/api/v1/predictions/classify`, {
            method: 'POST',
            headers: { ...form.headers, authorization: `Bearer ${token}` },
            body: form.payload,
          });
          if (res.status !== 200) return;
          const body = (await res.json()) as { prediction_id: string };
          answered.push({ id: body.prediction_id, sentAt, answeredAt: Date.now() });
          // Killed while the rest of the burst is still in flight.
          if (answered.length === KILL_AFTER) first.process.kill('SIGKILL');
        } catch {
          // Cut off by the kill: never answered, so nothing is owed.
        }
      });
      await Promise.all(sent);
      await exited;
      assert.ok(answered.length >= KILL_AFTER, `${answered.length} answered`);
      assert.ok(answered.length < BURST, 'the kill came before the burst was over');

      server = await startServer(env, { waitFor: '/ready' });
      const second = server;
      const history = await fetch(`${second.url}/api/v1/predictions/history?limit=500`, {
        headers: { authorization: `Bearer ${await signIn(second.url, admin)}` },
      });
      assert.equal(history.status, 200);
      const stored = new Map(
        ((await history.json()) as { items: { id: string; created_at: string }[] }).items.map(
          (p) => [p.id, Date.parse(p.created_at)],
        ),
      );
      const missing = answered.filter((a) => !stored.has(a.id)).map((a) => a.id);
      assert.deepEqual(missing, [], `${missing.length} of ${answered.length} answered are lost`);
      for (const a of answered) {
        // Dated when the request came in, not when a later write happened.
        const createdAt = stored.get(a.id)!;
        assert.ok(createdAt >= a.sentAt - 5 && createdAt <= a.answeredAt, a.id);
      }
    } finally {
      if (server && server.process.exitCode === null && server.process.signalCode === null) {
        await server.stop();
      }
      await db.drop();
      rmSync(db.dataDir, { recursive: true, force: true });
    }
  },
);
