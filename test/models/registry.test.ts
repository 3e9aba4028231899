import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { auditLogs } from '../../src/db/schema.ts';
import { exportModel, importModel } from '../../src/modules/models/transfer.ts';
import { signedInUser, startTestApp, type TestApp, unique } from '../support/app.ts';

let t: TestApp;
// No shipped models here: these tests own their registry.
before(async () => {
  t = await startTestApp({
    overrides: { AQUAML_SHIPPED_MODELS: mkdtempSync(join(tmpdir(), 'no-shipped-')) },
  });
});
after(() => t.close());

/** A minimal artefact folder: what the registry needs to know a model. */
function artefact(name: string, extra: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'artefact-'));
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      name,
      version: 1,
      task: 'species',
      labels: ['a', 'b', 'c'],
      metrics: { accuracy: 0.9 },
      ...extra,
    }),
  );
  writeFileSync(join(dir, 'MODEL_CARD.md'), `# ${name}\n`);
  return dir;
}

describe('registry', () => {
  test('shipped artefacts are registered once, and restored into a store that lacks them', async () => {
    const name = unique('shipped').toLowerCase();
    const shipped = mkdtempSync(join(tmpdir(), 'shipped-'));
    cpSync(artefact(name), join(shipped, name, '1'), { recursive: true });
    const added = await t.ctx.registry.registerShipped(shipped);
    assert.deepEqual(
      added.map((m) => `${m.name}@${m.version}`),
      [`${name}@1`],
    );
    assert.equal(await t.ctx.store.has(name, 1), true);
    // A second process on the same database with its own (empty) local store.
    rmSync(join(t.config.models.storeDir, name), { recursive: true, force: true });
    assert.equal(await t.ctx.store.has(name, 1), false);
    assert.deepEqual(await t.ctx.registry.registerShipped(shipped), []);
    assert.equal(await t.ctx.store.has(name, 1), true);
    assert.equal((await t.ctx.registry.resolve(name)).version, 1);
  });

  test('versions count up, the first becomes champion, promote and rollback move aliases', async () => {
    const name = unique('m').toLowerCase();
    const v1 = await t.ctx.registry.register({ fromDir: artefact(name), source: 'trained' });
    const v2 = await t.ctx.registry.register({
      fromDir: artefact(name),
      source: 'trained',
      alias: 'challenger',
    });
    assert.deepEqual([v1.version, v2.version], [1, 2]);
    assert.equal((await t.ctx.registry.resolve(name)).version, 1);
    assert.equal((await t.ctx.registry.resolve(`${name}@challenger`)).version, 2);
    assert.equal((await t.ctx.registry.resolve(`${name}@latest`)).version, 2);
    const stored = JSON.parse(
      readFileSync(join(t.config.models.storeDir, name, '2', 'manifest.json'), 'utf8'),
    );
    assert.equal(stored.version, 2);

    await t.ctx.registry.setAlias(name, 'champion', 2, { name: 'test' });
    assert.equal((await t.ctx.registry.resolve(name)).version, 2);
    await t.ctx.registry.rollback(name, 'champion', { name: 'test' });
    assert.equal((await t.ctx.registry.resolve(name)).version, 1);
    const moves = await t.ctx.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, 'model.alias_moved'), eq(auditLogs.targetId, name)));
    assert.ok(moves.length >= 3);
  });

  test('an aliased version cannot be archived; an archived one cannot be promoted', async () => {
    const name = unique('a').toLowerCase();
    await t.ctx.registry.register({ fromDir: artefact(name), source: 'trained' });
    await t.ctx.registry.register({ fromDir: artefact(name), source: 'trained' });
    await assert.rejects(t.ctx.registry.archive(name, 1), /champion/);
    await t.ctx.registry.archive(name, 2);
    await assert.rejects(t.ctx.registry.setAlias(name, 'champion', 2), /archived/);
  });

  test('export then import registers the same model as a new version', async () => {
    const name = unique('x').toLowerCase();
    const row = await t.ctx.registry.register({ fromDir: artefact(name), source: 'trained' });
    const file = join(mkdtempSync(join(tmpdir(), 'export-')), 'model.tar.gz');
    await exportModel(t.ctx.store, row, file);
    const imported = await importModel(t.ctx.registry, file, { name });
    assert.equal(imported.version, 2);
    assert.equal(imported.source, 'imported');
    const garbage = join(mkdtempSync(join(tmpdir(), 'bad-')), 'bad.tar.gz');
    writeFileSync(garbage, 'not an archive');
    await assert.rejects(importModel(t.ctx.registry, garbage), /not a readable/);
  });

  test('bad artefacts and names are refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'empty-'));
    await assert.rejects(
      t.ctx.registry.register({ fromDir: dir, source: 'trained' }),
      /no manifest.json/,
    );
    await assert.rejects(
      t.ctx.registry.register({ fromDir: artefact('Bad Name'), source: 'trained' }),
      /invalid model name/,
    );
    await assert.rejects(
      t.ctx.registry.register({ fromDir: artefact('stats'), source: 'trained' }),
      /reserved/,
    );
  });
});

describe('registry over HTTP', () => {
  test('list, show, card; promote needs an operator and is audited', async () => {
    const name = unique('h').toLowerCase();
    await t.ctx.registry.register({ fromDir: artefact(name), source: 'trained' });
    await t.ctx.registry.register({ fromDir: artefact(name), source: 'trained' });
    const viewer = await signedInUser(t, 'viewer');
    const operator = await signedInUser(t, 'operator');

    const all = await t.app.inject({ url: '/api/v1/models/all', headers: viewer.headers });
    assert.equal(all.statusCode, 200);
    const mine = all.json().items.filter((m: { name: string }) => m.name === name);
    assert.deepEqual(
      mine.map((m: { version: number; aliases: string[] }) => [m.version, m.aliases]),
      [
        [1, ['champion']],
        [2, []],
      ],
    );
    const detail = await t.app.inject({
      url: `/api/v1/models/${name}/versions/2`,
      headers: viewer.headers,
    });
    assert.deepEqual(detail.json().manifest.labels, ['a', 'b', 'c']);
    const card = await t.app.inject({
      url: `/api/v1/models/${name}/versions/1/card`,
      headers: viewer.headers,
    });
    assert.match(card.body, new RegExp(`# ${name}`));

    const denied = await t.app.inject({
      method: 'POST',
      url: `/api/v1/models/${name}/promote`,
      headers: viewer.headers,
      payload: { version: 2 },
    });
    assert.equal(denied.statusCode, 403);
    const promoted = await t.app.inject({
      method: 'POST',
      url: `/api/v1/models/${name}/promote`,
      headers: operator.headers,
      payload: { version: 2 },
    });
    assert.equal(promoted.statusCode, 200, promoted.body);
    assert.deepEqual([promoted.json().version, promoted.json().previous_version], [2, 1]);
    const [audit] = await t.ctx.db
      .select()
      .from(auditLogs)
      .where(
        and(eq(auditLogs.action, 'model.alias_moved'), eq(auditLogs.actorUserId, operator.id)),
      );
    assert.deepEqual(audit?.details, { alias: 'champion', from: 1, to: 2 });

    const back = await t.app.inject({
      method: 'POST',
      url: `/api/v1/models/${name}/rollback`,
      headers: operator.headers,
    });
    assert.equal(back.json().version, 1);
    const missing = await t.app.inject({
      method: 'POST',
      url: `/api/v1/models/${name}/promote`,
      headers: operator.headers,
      payload: { version: 99 },
    });
    assert.equal(missing.statusCode, 404);
  });
});
