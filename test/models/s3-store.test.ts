// The S3-compatible model store against a real S3 API server (s3rver, in this process).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { S3ModelStore, type S3ModelStoreOptions } from '../../src/infra/store/s3.ts';
import { exportModel } from '../../src/modules/models/transfer.ts';
import { MONITORING_HEADERS, startTestApp, unique } from '../support/app.ts';

const BUCKET = 'bucket';
const KEY = 'S3RVER'; // s3rver's built-in access key id and secret
let server: S3rver;
let endpoint: string;
let raw: S3Client;
const putKeys: string[] = [];
const temps: string[] = [];
const stores: S3ModelStore[] = [];

function temp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

function newStore(options: Partial<S3ModelStoreOptions> = {}): S3ModelStore {
  const store = new S3ModelStore({
    bucket: BUCKET,
    prefix: 'unit',
    endpoint,
    region: 'us-east-1',
    accessKeyId: KEY,
    secretAccessKey: KEY,
    forcePathStyle: true,
    cacheDir: temp('s3-cache-'),
    backbonesDir: join(tmpdir(), 'aquaml-backbones-unused'),
    ...options,
  });
  stores.push(store);
  return store;
}

/** An artefact folder: manifest, binary weights, a file in a subfolder and an empty file. */
function artefact(name: string): string {
  const dir = temp('s3-artefact-');
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({ name, version: 1, task: 'species', labels: ['a', 'b'], metrics: {} }),
  );
  writeFileSync(join(dir, 'head.bin'), randomBytes(300_000));
  writeFileSync(join(dir, 'MODEL_CARD.md'), `# ${name}\n`);
  writeFileSync(join(dir, 'empty.txt'), '');
  mkdirSync(join(dir, 'extra'));
  writeFileSync(join(dir, 'extra', 'notes.txt'), 'nested file\n');
  return dir;
}

const FILES = ['manifest.json', 'head.bin', 'MODEL_CARD.md', 'empty.txt', 'extra/notes.txt'];

function assertSameFiles(from: string, to: string): void {
  for (const file of FILES) {
    assert.ok(readFileSync(join(from, file)).equals(readFileSync(join(to, file))), file);
  }
}

async function keys(prefix: string): Promise<string[]> {
  const page = await raw.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (page.Contents ?? []).map((o) => o.Key!).sort();
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
  const { port } = probe.address() as { port: number };
  await new Promise((ok) => probe.close(ok));
  return port;
}

before(async () => {
  server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: temp('s3rver-'),
  });
  const { port } = await server.run();
  endpoint = `http://127.0.0.1:${port}`;
  // s3rver is a Koa app: it emits an event for each stored object.
  (server as unknown as EventEmitter).on(
    'event',
    (event: { Records: { eventName: string; s3: { object: { key: string } } }[] }) => {
      for (const r of event.Records)
        if (r.eventName === 'ObjectCreated:Put') putKeys.push(r.s3.object.key);
    },
  );
  raw = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: KEY, secretAccessKey: KEY },
  });
  await raw.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

after(async () => {
  for (const store of stores) store.close();
  raw?.destroy();
  await server?.close();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe('S3ModelStore', () => {
  test('put, has and localDir round-trip every file byte for byte', async () => {
    const store = newStore();
    const name = unique('rt').toLowerCase();
    const from = artefact(name);
    assert.equal(await store.has(name, 1), false);
    await store.put(name, 1, from);
    assert.equal(await store.has(name, 1), true);
    assert.deepEqual(await keys(`unit/${name}/`), FILES.map((f) => `unit/${name}/1/${f}`).sort());
    const dir = await store.localDir(name, 1);
    assert.ok(dir.endsWith(join(name, '1')));
    assertSameFiles(from, dir);
    // Nothing left behind: no claim, no download staging folder.
    assert.deepEqual(await keys(`unit/.publishing/${name}/`), []);
  });

  test('manifest.json is written last; a version without it does not exist', async () => {
    const store = newStore();
    const name = unique('ml').toLowerCase();
    putKeys.length = 0;
    await store.put(name, 1, artefact(name));
    const mine = putKeys.filter((k) => k.includes(`${name}/1/`));
    assert.equal(mine.length, FILES.length);
    assert.equal(mine.at(-1), `unit/${name}/1/manifest.json`);

    // A half-uploaded version (files, no manifest): not has(), not downloadable.
    for (const file of ['head.bin', 'MODEL_CARD.md']) {
      await raw.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: `unit/${name}/2/${file}`, Body: 'partial' }),
      );
    }
    assert.equal(await store.has(name, 2), false);
    await assert.rejects(store.localDir(name, 2), /not in the store s3:\/\/bucket\/unit/);
    // Publishing that version later replaces the leftovers.
    const from = artefact(name);
    await store.put(name, 2, from);
    assertSameFiles(from, await store.localDir(name, 2));
  });

  test('an existing version is never overwritten', async () => {
    const store = newStore();
    const name = unique('ow').toLowerCase();
    const first = artefact(name);
    await store.put(name, 1, first);
    await assert.rejects(store.put(name, 1, artefact(name)), /version 1 already exists/);
    assertSameFiles(first, await store.localDir(name, 1));
  });

  test('a version being published by another process is not mixed with it', async () => {
    const store = newStore();
    const name = unique('cl').toLowerCase();
    await raw.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `unit/.publishing/${name}/1.json`,
        Body: JSON.stringify({ id: 'other', at: new Date().toISOString() }),
      }),
    );
    await assert.rejects(store.put(name, 1, artefact(name)), /being published by another process/);
    assert.deepEqual(await keys(`unit/${name}/`), []);
  });

  test('large files are streamed up (same bytes)', async () => {
    const store = newStore({ inMemoryUploadBytes: 1_000 });
    const name = unique('st').toLowerCase();
    const from = artefact(name);
    await store.put(name, 1, from);
    assertSameFiles(from, await store.localDir(name, 1));
  });

  test('a claim left by a crashed publisher is taken over once stale', async () => {
    const store = newStore({ claimStaleMs: 0 });
    const name = unique('st').toLowerCase();
    await raw.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `unit/.publishing/${name}/1.json`,
        Body: JSON.stringify({ id: 'crashed', at: '2020-01-01T00:00:00Z' }),
      }),
    );
    const from = artefact(name);
    await store.put(name, 1, from);
    assertSameFiles(from, await store.localDir(name, 1));
    assert.deepEqual(await keys(`unit/.publishing/${name}/`), []);
  });

  test('localDir downloads once into the cache and reuses it', async () => {
    const cacheDir = temp('s3-shared-cache-');
    const store = newStore({ cacheDir });
    const name = unique('ca').toLowerCase();
    const from = artefact(name);
    await store.put(name, 1, from);
    const [a, b] = await Promise.all([store.localDir(name, 1), store.localDir(name, 1)]);
    assert.equal(a, join(cacheDir, name, '1'));
    assert.equal(b, a);
    // Remove the objects: later calls (and other store instances on this cache) need no request.
    for (const key of await keys(`unit/${name}/`)) {
      await raw.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    }
    assert.equal(await store.localDir(name, 1), a);
    assert.equal(await newStore({ cacheDir }).localDir(name, 1), a);
    assertSameFiles(from, a);
    // No staging folders are left in the cache.
    assert.deepEqual(readdirSync(join(cacheDir, name)), ['1']);
  });

  test('a prefix-less store uses the bucket root; backbones stay local', async () => {
    const store = newStore({ prefix: '', backbonesDir: '/srv/aquaml/backbones' });
    const name = unique('np').toLowerCase();
    await store.put(name, 3, artefact(name));
    assert.ok((await keys(`${name}/`)).includes(`${name}/3/manifest.json`));
    assert.equal(store.backbonesDir(), '/srv/aquaml/backbones');
    assert.equal(store.location, 's3://bucket');
  });

  test('bad names and versions are refused before any request', async () => {
    const store = newStore();
    await assert.rejects(store.put('../x', 1, artefact('x')), /invalid model name/);
    await assert.rejects(store.has('ok', 0), /invalid version/);
  });

  test('ping succeeds on the server and fails clearly when it is down or refuses us', async () => {
    await newStore().ping();
    const down = newStore({ endpoint: `http://127.0.0.1:${await freePort()}` });
    const started = Date.now();
    const err = await down.ping().then(
      () => assert.fail('ping should fail'),
      (e: Error) => e,
    );
    assert.match(err.message, /^model store s3:\/\/bucket\/unit: unreachable: /);
    assert.match(err.message, /connection refused|no answer in time/);
    assert.ok(Date.now() - started < 2_000, 'ping answers within the health check timeout');
    assert.ok(!err.message.includes(KEY));

    const missing = newStore({ bucket: 'no-such-bucket' });
    await assert.rejects(missing.ping(), /bucket "no-such-bucket" does not exist/);
    await assert.rejects(down.has('m', 1), /model store s3:\/\/bucket\/unit: cannot read/);
  });
});

describe('S3 model store configuration', () => {
  const load = (overrides: Record<string, string>) =>
    loadConfig({ env: {}, overrides: { NODE_ENV: 'test', ...overrides } });

  test('AQUAML_MODEL_STORE_URL selects the S3 store, with sensible defaults', () => {
    assert.equal(load({}).models.s3, undefined);
    const aws = load({ AQUAML_MODEL_STORE_URL: 's3://my-models/prod/aquaml/' }).models.s3!;
    assert.equal(aws.bucket, 'my-models');
    assert.equal(aws.prefix, 'prod/aquaml');
    assert.equal(aws.region, 'us-east-1');
    assert.equal(aws.endpoint, undefined);
    assert.equal(aws.forcePathStyle, false);
    assert.equal(aws.accessKeyId, undefined);
    const minio = load({
      AQUAML_MODEL_STORE_URL: 's3://models',
      S3_ENDPOINT: 'http://minio:9000',
      S3_REGION: 'eu-west-3',
      S3_ACCESS_KEY_ID: 'id',
      S3_SECRET_ACCESS_KEY: 'secret',
    }).models.s3!;
    assert.equal(minio.prefix, '');
    assert.equal(minio.forcePathStyle, true);
    assert.equal(minio.region, 'eu-west-3');
    assert.ok(minio.cacheDir.endsWith('models-cache'));
    assert.equal(
      load({
        AQUAML_MODEL_STORE_URL: 's3://models',
        S3_ENDPOINT: 'https://s3.example.org',
        S3_FORCE_PATH_STYLE: 'false',
      }).models.s3!.forcePathStyle,
      false,
    );
  });

  test('bad settings are refused with an error naming the setting', () => {
    const refused = (overrides: Record<string, string>, setting: string) =>
      assert.throws(
        () => load(overrides),
        (err: unknown) => err instanceof ConfigError && err.setting === setting,
        JSON.stringify(overrides),
      );
    for (const url of [
      'http://bucket/prefix',
      's3://',
      'bucket/prefix',
      's3://Bad_Bucket/x',
      's3://ab',
      's3://key:secret@bucket/x',
      's3://bucket/a/../b',
      's3://bucket/a//b',
      's3://bucket/x?versioning=1',
    ]) {
      refused({ AQUAML_MODEL_STORE_URL: url }, 'AQUAML_MODEL_STORE_URL');
    }
    const url = { AQUAML_MODEL_STORE_URL: 's3://bucket/models' };
    refused({ ...url, AQUAML_S3_ENDPOINT: 'minio:9000' }, 'AQUAML_S3_ENDPOINT');
    refused({ ...url, AQUAML_S3_ENDPOINT: 'ftp://minio' }, 'AQUAML_S3_ENDPOINT');
    refused({ ...url, AQUAML_S3_REGION: 'us east' }, 'AQUAML_S3_REGION');
    refused({ ...url, AQUAML_S3_ACCESS_KEY_ID: 'id' }, 'AQUAML_S3_SECRET_ACCESS_KEY');
    refused({ ...url, AQUAML_S3_SECRET_ACCESS_KEY: 'secret' }, 'AQUAML_S3_ACCESS_KEY_ID');
    refused({ ...url, AQUAML_S3_FORCE_PATH_STYLE: 'maybe' }, 'AQUAML_S3_FORCE_PATH_STYLE');
    // The secret never appears in an error.
    assert.throws(
      () => load({ AQUAML_MODEL_STORE_URL: 's3://id:secret-value@bucket/x' }),
      (err: Error) => !err.message.includes('secret-value'),
    );
    assert.throws(
      () => load({ ...url, S3_SECRET_ACCESS_KEY: 'secret-value' }),
      (err: Error) => !err.message.includes('secret-value'),
    );
  });
});

describe('the registry on the S3 store', () => {
  test('registers, serves files from the cache, exports, and reports kind s3', async () => {
    const t = await startTestApp({
      overrides: {
        AQUAML_MODEL_STORE_URL: 's3://bucket/models',
        S3_ENDPOINT: endpoint,
        S3_ACCESS_KEY_ID: KEY,
        S3_SECRET_ACCESS_KEY: KEY,
        // No shipped models: this test owns its registry.
        AQUAML_SHIPPED_MODELS: temp('no-shipped-'),
      },
    });
    try {
      assert.equal(t.ctx.store.kind, 's3');
      const name = unique('reg').toLowerCase();
      const from = artefact(name);
      const v1 = await t.ctx.registry.register({ fromDir: from, source: 'trained' });
      const v2 = await t.ctx.registry.register({ fromDir: from, source: 'trained' });
      assert.deepEqual([v1.version, v2.version], [1, 2]);
      assert.equal((await t.ctx.registry.resolve(name)).version, 1);
      assert.ok((await keys(`models/${name}/`)).includes(`models/${name}/2/manifest.json`));

      const dir = await t.ctx.store.localDir(name, 2);
      assert.equal(dir, join(t.dataDir, 'models-cache', name, '2'));
      for (const file of FILES.filter((f) => f !== 'manifest.json')) {
        assert.ok(readFileSync(join(from, file)).equals(readFileSync(join(dir, file))), file);
      }
      // The registry writes the version it assigned into the stored manifest.
      assert.equal(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).version, 2);

      const exported = join(temp('s3-export-'), 'model.tar.gz');
      await exportModel(t.ctx.store, v2, exported);
      assert.ok(readFileSync(exported).length > 1000);

      const health = await t.app.inject({ url: '/health/detailed', headers: MONITORING_HEADERS });
      const store = health.json().components.model_store;
      assert.equal(store.status, 'ok', JSON.stringify(store));
      assert.deepEqual(store.details, { kind: 's3' });
      assert.ok(!health.body.includes(KEY));
    } finally {
      await t.close();
    }
  });
});
