// Hostile uploads (issue 8, defects 1 and 6): archive bombs and large files are refused or handled
// without stalling the process, and an API key reads the tasks it created.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createGzip, deflateRawSync } from 'node:zlib';
import { zipSync } from 'fflate';
import sharp from 'sharp';
import * as tar from 'tar';
import { startHealthProbe } from '../../bench/support/health-probe.ts';
import { type RunningServer, startServer } from '../../bench/support/server.ts';
import { isolatedDatabase, PASSWORD, unique } from '../support/app.ts';
import { imageForm, multipart, noisePng, uncompressedNoisePng } from '../support/images.ts';
import { shippedModelSkip } from '../support/models.ts';

const MiB = 1024 * 1024;
let server: RunningServer;
let db: Awaited<ReturnType<typeof isolatedDatabase>>;
let url: string;
let viewerKey: string;
let otherKey: string;

async function json(path: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${path}`, init);
  const body = (await res.json()) as Record<string, unknown>;
  assert.ok(res.ok, `${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

before(async () => {
  if (shippedModelSkip) return;
  db = await isolatedDatabase();
  const admin = unique('bomb');
  // A real server process: the probes below measure its event loop, not the test's.
  server = await startServer(
    {
      ...db.overrides,
      NODE_ENV: 'test',
      AQUAML_DATA_DIR: db.dataDir,
      AQUAML_REDIS_PREFIX: unique('bomb'),
      AQUAML_MAX_BATCH_BYTES: String(8 * MiB),
      RATE_LIMIT_MAX: '100000',
      AQUAML_ADMIN_USERNAME: admin,
      AQUAML_ADMIN_EMAIL: `${admin}@example.org`,
      AQUAML_ADMIN_PASSWORD: PASSWORD,
    },
    { waitFor: '/ready' },
  );
  url = server.url;
  const login = await json('/api/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: admin, password: PASSWORD }),
  });
  const key = async () =>
    String(
      (
        await json('/api/v1/api-keys/', {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${String(login.access_token)}`,
          },
          body: JSON.stringify({ name: 'camera', role: 'viewer' }),
        })
      ).key,
    );
  viewerKey = await key();
  otherKey = await key();
});
after(async () => {
  if (!server) return;
  await server.stop();
  await db.drop();
  rmSync(db.dataDir, { recursive: true, force: true });
});

/**
 * What a /health round trip may take here: the slowest of a second's probes with nothing else
 * going on, plus 250 ms. The defects were stalls of seconds; on a busy CI machine scheduling
 * alone takes a hundred ms or more. The 50 ms target itself is measured by
 * `npm run bench -- uploads`, not here.
 */
let idleHealthMs: number | undefined;
async function healthBudgetMs(): Promise<number> {
  idleHealthMs ??= (await healthDuring(() => new Promise((r) => setTimeout(r, 1000)))).slowestMs;
  return 250 + idleHealthMs;
}

/**
 * Polls /health from a separate process every few ms while `work` runs (so the 19 MiB this
 * process sends does not delay its own probes); the slowest answer in ms.
 */
async function healthDuring<T>(work: () => Promise<T>): Promise<{ result: T; slowestMs: number }> {
  const probe = await startHealthProbe(url);
  const outcome = await work().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  const samples = await probe.stop();
  if ('error' in outcome) throw outcome.error;
  const result = outcome.value;
  assert.ok(samples.length > 0 && !samples.includes(-1), 'every /health answer is 200');
  return { result, slowestMs: Math.max(...samples) };
}

async function upload(path: string, form: { payload: Buffer; headers: Record<string, string> }) {
  const started = performance.now();
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { ...form.headers, 'x-api-key': viewerKey },
    body: form.payload,
  });
  const body = (await res.json()) as Record<string, unknown>;
  return { status: res.status, body, ms: performance.now() - started };
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A zip of `entries` files of 20 MiB zeros, written directly (one deflated copy shared by every
 * entry), as a hostile client would; compressing each entry would take the test minutes.
 */
function zipBomb(entries: number): Buffer {
  const zeros = Buffer.alloc(20 * MiB);
  const deflated = deflateRawSync(zeros, { level: 9 });
  const crc = crc32(zeros);
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (let i = 0; i < entries; i++) {
    const name = Buffer.from(`frames/z${i}.png`);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(deflated.length, 18);
    local.writeUInt32LE(zeros.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(deflated.length, 20);
    central.writeUInt32LE(zeros.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, deflated);
    centrals.push(central, name);
    offset += 30 + name.length + deflated.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries, 8);
  end.writeUInt16LE(entries, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** A tar.gz of `entries` files of 20 MiB zeros, built as a stream (nothing that large in memory). */
async function tarGzBomb(entries: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gzip.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((r) => gzip.on('end', r));
  const zeros = Buffer.alloc(MiB);
  for (let i = 0; i < entries; i++) {
    const header = new tar.Header({
      path: `z${i}.png`,
      mode: 0o644,
      size: 20 * MiB,
      type: 'File',
      mtime: new Date(0),
    });
    header.encode();
    gzip.write(header.block!);
    for (let m = 0; m < 20; m++) {
      if (!gzip.write(zeros)) await new Promise((r) => gzip.once('drain', r));
    }
  }
  gzip.end(Buffer.alloc(1024));
  await done;
  return Buffer.concat(out);
}

const batchForm = (archive: Buffer, filename: string) =>
  multipart([{ name: 'files', value: archive, filename, contentType: 'application/octet-stream' }]);

describe('archive bombs and large uploads', { skip: shippedModelSkip }, () => {
  for (const entries of [16, 33, 60]) {
    test(`a zip of ${entries} x 20 MiB of zeros is refused at once (413), /health stays fast`, async () => {
      const bomb = zipBomb(entries);
      assert.ok(bomb.length < 1.5 * MiB, `the bomb is small on the wire (${bomb.length} bytes)`);
      for (const path of ['/api/v1/ml/predict/batch?async=true', '/api/v1/ml/predict/batch']) {
        const { result, slowestMs } = await healthDuring(() =>
          upload(path, batchForm(bomb, 'bomb.zip')),
        );
        assert.equal(result.status, 413, JSON.stringify(result.body));
        assert.match(String(result.body.detail), /expands|bytes/);
        assert.ok(result.ms < 1000, `answered in ${result.ms.toFixed(0)} ms`);
        const budget = await healthBudgetMs();
        assert.ok(slowestMs < budget, `/health took ${slowestMs.toFixed(0)} ms (< ${budget} ms)`);
      }
    });
  }

  test('a tar.gz of 16 x 20 MiB of zeros is refused at once too', async () => {
    const bomb = await tarGzBomb(16);
    assert.ok(bomb.length < 1.5 * MiB, `${bomb.length} bytes`);
    const { result, slowestMs } = await healthDuring(() =>
      upload('/api/v1/ml/predict/batch?async=true', batchForm(bomb, 'bomb.tar.gz')),
    );
    assert.equal(result.status, 413, JSON.stringify(result.body));
    assert.ok(result.ms < 1000, `answered in ${result.ms.toFixed(0)} ms`);
    const budget = await healthBudgetMs();
    assert.ok(slowestMs < budget, `/health took ${slowestMs.toFixed(0)} ms (< ${budget} ms)`);
  });

  test('archives past the byte budget are refused by their declared sizes', async () => {
    // Compressible about 4 times (under the ratio limit): only the total budget (8 MiB here) trips.
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 6; i++) {
      files[`r${i}.png`] = Buffer.concat([randomBytes(MiB / 2), Buffer.alloc(MiB + MiB / 2)]);
    }
    const archive = Buffer.from(zipSync(files));
    assert.ok(archive.length < 8 * MiB);
    const res = await upload('/api/v1/ml/predict/batch', batchForm(archive, 'big.zip'));
    assert.equal(res.status, 413, JSON.stringify(res.body));
    assert.match(String(res.body.detail), /AQUAML_MAX_BATCH_BYTES/);
  });

  test('19 MiB that is no image, to /ml/predict/async: refused at once (415), nothing queued', async () => {
    const before = await fetch(`${url}/api/v1/tasks`, { headers: { 'x-api-key': viewerKey } });
    const queued = ((await before.json()) as { total: number }).total;
    const { result, slowestMs } = await healthDuring(() =>
      upload('/api/v1/ml/predict/async', imageForm(randomBytes(19 * MiB), {}, 'huge.jpg')),
    );
    assert.equal(result.status, 415, JSON.stringify(result.body));
    assert.match(String(result.body.detail), /not a recognised image format/);
    const after = await fetch(`${url}/api/v1/tasks`, { headers: { 'x-api-key': viewerKey } });
    assert.equal(((await after.json()) as { total: number }).total, queued);
    const budget = await healthBudgetMs();
    assert.ok(slowestMs < budget, `/health took ${slowestMs.toFixed(0)} ms (< ${budget} ms)`);
  });

  test('a 19 MiB image to /ml/predict/async never stalls /health, and its task succeeds', async () => {
    // 18.8 MiB that the worker really decodes.
    const big = await uncompressedNoisePng(2560);
    assert.ok(big.length > 18 * MiB);
    const { result, slowestMs } = await healthDuring(async () => {
      const res = await upload('/api/v1/ml/predict/async', imageForm(big, {}, 'huge.png'));
      assert.equal(res.status, 202, JSON.stringify(res.body));
      for (;;) {
        const task = await fetch(`${url}/api/v1/tasks/${String(res.body.task_id)}`, {
          headers: { 'x-api-key': viewerKey },
        });
        const body = (await task.json()) as {
          state: string;
          result?: { image_sha256?: string };
        };
        if (['succeeded', 'failed', 'cancelled'].includes(body.state)) return body;
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    assert.equal(result.state, 'succeeded', JSON.stringify(result));
    // Hashed as it arrived, and the same hash a client computes.
    assert.equal(result.result?.image_sha256, createHash('sha256').update(big).digest('hex'));
    const budget = await healthBudgetMs();
    assert.ok(slowestMs < budget, `/health took ${slowestMs.toFixed(0)} ms (< ${budget} ms)`);
  });

  test('afterwards the process is alive and still classifies', async () => {
    const res = await upload('/api/v1/ml/predict', imageForm(await noisePng(90, 60, 808)));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(typeof res.body.label, 'string');
  });
});

describe('tasks made by an API key', { skip: shippedModelSkip }, () => {
  test('the viewer key that created a task reads it; another may read but not cancel it (SECURITY.md)', async () => {
    // Over a megabyte: stored and read back in slices, byte for byte.
    const image = await sharp(randomBytes(720 * 720 * 3), {
      raw: { width: 720, height: 720, channels: 3 },
    })
      .png()
      .toBuffer();
    assert.ok(image.length > 1024 * 1024);
    const res = await upload('/api/v1/ml/predict/async', imageForm(image));
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const id = String(res.body.task_id);
    const read = (key: string) =>
      fetch(`${url}/api/v1/tasks/${id}`, { headers: { 'x-api-key': key } });
    // Tasks are farm data: every member reads them; only the creator, operators and admins cancel.
    assert.equal((await read(otherKey)).status, 200);
    const cancel = await fetch(`${url}/api/v1/tasks/${id}`, {
      method: 'DELETE',
      headers: { 'x-api-key': otherKey },
    });
    assert.equal(cancel.status, 403);
    for (;;) {
      const mine = await read(viewerKey);
      assert.equal(mine.status, 200);
      const task = (await mine.json()) as {
        state: string;
        result?: { image_sha256: string };
      };
      if (task.state === 'succeeded') {
        const sha = createHash('sha256').update(image).digest('hex');
        assert.equal(task.result?.image_sha256, sha);
        break;
      }
      assert.ok(['queued', 'running'].includes(task.state), task.state);
      await new Promise((r) => setTimeout(r, 50));
    }
    const listed = async (key: string) =>
      (
        (await (await fetch(`${url}/api/v1/tasks/`, { headers: { 'x-api-key': key } })).json()) as {
          items: { id: string }[];
        }
      ).items.some((i) => i.id === id);
    assert.equal(await listed(viewerKey), true);
    assert.equal(await listed(otherKey), true);
  });
});
