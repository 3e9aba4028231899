// SIGTERM while requests are in flight: every accepted request is answered and stored, exit code 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { count } from 'drizzle-orm';
import { openDatabase } from '../../src/db/client.ts';
import { predictions } from '../../src/db/schema.ts';
import { isolatedDatabase, PASSWORD, unique } from '../support/app.ts';
import { multipart, noisePng } from '../support/images.ts';
import { shippedModelSkip } from '../support/models.ts';
import { freePort } from '../../bench/support/server.ts';

const ROOT = join(import.meta.dirname, '..', '..');

test(
  'SIGTERM during load loses no accepted request',
  { skip: shippedModelSkip, timeout: 180_000 },
  async () => {
    const db = await isolatedDatabase();
    const port = await freePort();
    const admin = unique('term');
    const child = spawn(process.execPath, [join(ROOT, 'bin/aquaml.js'), 'serve'], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...db.overrides,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        PORT: String(port),
        HOST: '127.0.0.1',
        AQUAML_DATA_DIR: db.dataDir,
        AQUAML_PREDICTION_CACHE: 'false',
        AQUAML_REDIS_PREFIX: unique('term'),
        RATE_LIMIT_MAX: '100000',
        AQUAML_ADMIN_USERNAME: admin,
        AQUAML_ADMIN_EMAIL: `${admin}@example.org`,
        AQUAML_ADMIN_PASSWORD: PASSWORD,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    try {
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 120_000;
      while (
        !(await fetch(`${url}/ready`)
          .then((r) => r.ok)
          .catch(() => false))
      ) {
        assert.ok(Date.now() < deadline, 'server not ready in time');
        await new Promise((r) => setTimeout(r, 100));
      }
      const login = await fetch(`${url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: admin, password: PASSWORD }),
      });
      const { access_token } = (await login.json()) as { access_token: string };
      const forms = await Promise.all(
        Array.from({ length: 40 }, async (_, i) =>
          multipart([
            {
              name: 'file',
              value: await noisePng(120, 90, 9000 + i),
              filename: `${i}.png`,
              contentType: 'image/png',
            },
          ]),
        ),
      );
      const sent = forms.map((form) =>
        fetch(`${url}/api/v1/predictions/classify`, {
          method: 'POST',
          headers: { ...form.headers, authorization: `Bearer ${access_token}` },
          body: form.payload,
        }).then(async (r) => ({
          status: r.status,
          body: (await r.json()) as { prediction_id?: string },
        })),
      );
      // Let the requests reach the server, then ask it to stop while they are being served.
      await new Promise((r) => setTimeout(r, 150));
      child.kill('SIGTERM');
      const results = await Promise.all(sent);
      assert.deepEqual(
        results.map((r) => r.status),
        results.map(() => 200),
      );
      assert.equal(await exited, 0);

      // Every answered prediction was stored before the process exited.
      const handle = await openDatabase({
        databaseUrl: db.overrides.DATABASE_URL,
        dataDir: db.dataDir,
      });
      try {
        const [{ n }] = await handle.db.select({ n: count() }).from(predictions);
        assert.equal(Number(n), 40);
      } finally {
        await handle.close();
      }
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await db.drop();
      rmSync(db.dataDir, { recursive: true, force: true });
    }
  },
);
