// The data folder's disk full (issue 15): `aquaml serve` on the embedded database, its data folder
// on a small tmpfs of this test's own, which a filler file then fills to the last byte. Writes
// must fail cleanly (a problem+json answer, the process alive, reads still served), work again
// once space is freed, and the database must open after a restart with every acknowledged
// reading in it. Needs root (mount); skips naming why otherwise.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, serverEnv, startServer } from './support/api.ts';
import { sleep } from './support/services.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** A tmpfs mounted for this test, or why there cannot be one. */
function mountTmpfs(sizeMb: number): { dir: string; unmount(): void } | string {
  if (process.getuid?.() !== 0) return 'mounting a small tmpfs needs root';
  mkdirSync(join(ROOT, 'tmp'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'tmp', 'diskfull-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], {
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return `mount -t tmpfs failed: ${(r.stderr || r.stdout).trim()}`;
  }
  return {
    dir,
    unmount() {
      spawnSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes zeros until the disk refuses (ENOSPC); returns the filler's path. */
function fill(dir: string): string {
  const path = join(dir, 'filler.bin');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(1024 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  // The last partial megabyte too.
  const small = Buffer.alloc(4096);
  try {
    for (;;) writeSync(fd, small);
  } catch {
    // full
  }
  closeSync(fd);
  return path;
}

const probe = mountTmpfs(1);
const skip = typeof probe === 'string' ? probe : false;
if (typeof probe !== 'string') probe.unmount();

test(
  'disk full under the data folder: clean errors, reads served, recovery, no corrupt database',
  { skip, timeout: 300_000 },
  async () => {
    const mount = mountTmpfs(160);
    assert.ok(typeof mount !== 'string', String(mount));
    const dataDir = join(mount.dir, 'data');
    const store = mkdtempSync(join(tmpdir(), 'aquaml-disk-full-store-'));
    cpSync(join(ROOT, 'models', 'species'), join(store, 'species'), { recursive: true });
    const template = process.env.AQUAML_TEST_PGLITE_TEMPLATE;
    if (template && existsSync(join(template, 'db'))) {
      cpSync(join(template, 'db'), join(dataDir, 'db'), { recursive: true });
    }
    // The embedded database on purpose, also when the suite runs against PostgreSQL.
    const { admin, env } = serverEnv(dataDir, {
      DATABASE_URL: '',
      REDIS_URL: '',
      // The model store (a copy of the shipped model, on the normal disk): only the database is on
      // the small disk, and the backbone the server converts never lands in the repository.
      AQUAML_MODEL_STORE: store,
    });
    let server = await startServer(env, { waitFor: '/ready' });
    let filler: string | undefined;
    try {
      const api = await connect(server, admin, 'create');
      const base = Date.now() - 3_600_000;
      // Each reading its own time (10 ms apart, all in the past), so each is its own row.
      const tsOf = (i: number) => base + i * 10;
      const reading = (i: number) => ({
        metric: 'ph',
        value: 7 + (i % 1000) / 1000,
        ts: new Date(tsOf(i)).toISOString(),
      });
      const acknowledged: number[] = [];
      for (let i = 0; i < 20; i++) {
        const res = await api.postReadings([reading(i)]);
        assert.equal(res.status, 200, await res.text());
        acknowledged.push(i);
      }

      filler = fill(mount.dir);
      const statuses: number[] = [];
      for (let i = 20; i < 60; i++) {
        const res = await api.postReadings([reading(i)]);
        const body = await res.text();
        statuses.push(res.status);
        if (res.status === 200) acknowledged.push(i);
        else {
          // Nothing stored, and the client is told to come back later.
          assert.equal(res.status, 503, body);
          assert.ok(Number(res.headers.get('retry-after')) >= 1, 'Retry-After');
          assert.match(String(res.headers.get('content-type')), /problem\+json/, body);
        }
      }
      // Large batches, so the database has to grow its files (small writes fit in space it holds).
      for (let b = 0; b < 15; b++) {
        const batch = Array.from({ length: 2000 }, (_, k) => 100_000 + b * 2000 + k);
        const res = await api.postReadings(batch.map(reading));
        const body = await res.text();
        statuses.push(res.status);
        if (res.status === 200) {
          // A 200 acknowledges the readings it counts as accepted.
          assert.equal((JSON.parse(body) as { accepted: number }).accepted, batch.length, body);
          acknowledged.push(...batch);
        } else {
          // Nothing stored, and the client is told to come back later.
          assert.equal(res.status, 503, body);
          assert.ok(Number(res.headers.get('retry-after')) >= 1, 'Retry-After');
          assert.match(String(res.headers.get('content-type')), /problem\+json/, body);
        }
      }
      // Classification keeps each image under the data folder (AQUAML_KEEP_IMAGES).
      const classified: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await api.classify(900 + i);
        const body = await res.text();
        classified.push(res.status);
        if (res.status !== 200) {
          assert.equal(res.status, 503, body);
          assert.match(String(res.headers.get('content-type')), /problem\+json/, body);
        }
      }
      const farm = await api.request('/api/v1/farms', {
        method: 'POST',
        body: JSON.stringify({ name: 'on a full disk' }),
      });
      process.stdout.write(
        `# disk full: readings answered ${JSON.stringify(statuses.reduce<Record<number, number>>((m, s) => ({ ...m, [s]: (m[s] ?? 0) + 1 }), {}))}, classify ${JSON.stringify(classified)}, a new farm ${farm.status}\n`,
      );
      assert.equal((await fetch(`${api.url}/health`)).status, 200, 'the process is alive');
      assert.equal((await api.request('/api/v1/farms')).status, 200, 'reads are still served');

      rmSync(filler);
      filler = undefined;
      await sleep(500);
      let recovered = false;
      for (let i = 60; i < 200 && !recovered; i++) {
        const res = await api.postReadings([reading(i)]);
        if (res.status === 200) {
          acknowledged.push(i);
          recovered = true;
        } else await sleep(250);
      }
      assert.ok(recovered, 'writes work again once space is freed');

      assert.equal(await server.stop(), 0, 'a clean shutdown after the disk was full');
      server = await startServer(env, { waitFor: '/ready' });
      const again = await connect(server, admin, { unitId: api.unitId, sensorKey: api.sensorKey });
      const csv = await (
        await again.request(
          `/api/v1/units/${again.unitId}/readings.csv?metric=ph&from=${new Date(base - 1000).toISOString()}`,
        )
      ).text();
      const have = new Set(
        csv
          .trim()
          .split('\n')
          .slice(1)
          .map((r) => Date.parse(r.split(',')[0]!)),
      );
      const lost = acknowledged.filter((i) => !have.has(tsOf(i)));
      assert.deepEqual(
        lost,
        [],
        `${lost.length} of ${acknowledged.length} acknowledged readings lost`,
      );
      const res = await again.postReadings([reading(500)]);
      assert.equal(res.status, 200, await res.text());
    } finally {
      if (filler) rmSync(filler, { force: true });
      if (server.process.exitCode === null && server.process.signalCode === null) {
        server.process.kill('SIGKILL');
        await new Promise((r) => server.process.once('exit', r));
      }
      mount.unmount();
      rmSync(store, { recursive: true, force: true });
    }
  },
);
