import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { freshDataDir, PASSWORD, unique } from '../support/app.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const dataDir = freshDataDir();
after(() => rmSync(dataDir, { recursive: true, force: true }));

function aquaml(...args: string[]) {
  return run(process.execPath, [join(root, 'bin/aquaml.js'), ...args], {
    cwd: root,
    env: { ...process.env, AQUAML_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
  });
}

test('aquaml --help lists the commands', async () => {
  const { stdout } = await aquaml('--help');
  for (const cmd of ['serve', 'api', 'worker', 'migrate', 'users'])
    assert.match(stdout, new RegExp(`\\b${cmd}\\b`));
});

test('aquaml migrate, users create (admin), users list', async () => {
  await aquaml('migrate');
  const username = unique('cli');
  const created = await aquaml(
    'users',
    'create',
    '--username',
    username,
    '--email',
    `${username}@example.org`,
    '--password',
    PASSWORD,
    '--role',
    'admin',
  );
  assert.match(created.stdout, new RegExp(`created admin ${username}`));
  const listed = await aquaml('users', 'list');
  assert.match(listed.stdout, new RegExp(`${username}\\s+admin`));
  await assert.rejects(
    aquaml(
      'users',
      'create',
      '--username',
      username,
      '--email',
      'other@example.org',
      '--password',
      PASSWORD,
    ),
    (err: { code: number; stderr: string }) =>
      err.code === 2 && /username is already taken/.test(err.stderr),
  );
  await assert.rejects(
    aquaml(
      'users',
      'create',
      '--username',
      unique('w'),
      '--email',
      'w@example.org',
      '--password',
      'short',
    ),
    (err: { code: number; stderr: string }) =>
      err.code === 2 && /password must be at least 10/.test(err.stderr),
  );
});
