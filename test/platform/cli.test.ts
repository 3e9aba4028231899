import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { freshDataDir, PASSWORD, unique } from '../support/app.ts';

/** A data dir for the embedded database (with the migrated template when the suite made one). */
function freshEmbeddedDir(): string {
  const url = process.env.DATABASE_URL;
  delete process.env.DATABASE_URL;
  try {
    return freshDataDir();
  } finally {
    if (url !== undefined) process.env.DATABASE_URL = url;
  }
}

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

test('aquaml models list prints a table with a header, aliases and metrics', async () => {
  const { stdout } = await aquaml('models', 'list');
  const [header, ...rows] = stdout.trim().split('\n');
  assert.match(header!, /^name\s+version\s+state\s+aliases\s+accuracy\s+macro-F1\s+created$/);
  const species = rows.find((r) => r.startsWith('species '));
  assert.ok(species, stdout);
  assert.match(
    species,
    /^species\s+1\s+ready\s+champion\s+0\.\d{3}\s+0\.\d{3}\s+\d{4}-\d\d-\d\d \d\d:\d\d$/,
  );
});

test('a mistyped command says "unknown command" and lists the commands', async () => {
  await assert.rejects(aquaml('bogus'), (err: { code: number; stderr: string }) => {
    assert.equal(err.code, 2);
    assert.match(err.stderr, /unknown command 'bogus'/);
    assert.match(err.stderr, /users\s+Manage user accounts/);
    assert.doesNotMatch(err.stderr, /too many arguments/);
    return true;
  });
});

test('a busy port is named with the setting that changes it, without a stack trace', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as AddressInfo).port;
  try {
    await assert.rejects(
      run(process.execPath, [join(root, 'bin/aquaml.js'), 'api', '--port', String(port)], {
        cwd: root,
        env: {
          ...process.env,
          AQUAML_DATA_DIR: freshDataDir(),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
        },
      }),
      (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 2);
        assert.match(
          err.stderr,
          new RegExp(`port ${port} is already in use.*set PORT or pass --port`),
        );
        assert.doesNotMatch(err.stderr, /EADDRINUSE|at .*\.ts:\d+/);
        return true;
      },
    );
  } finally {
    blocker.close();
  }
});

test('users create, users list and models list work while a server holds the embedded database', async () => {
  // The embedded database is the one a single process owns: this test runs on it in every CI pass.
  const embedded: NodeJS.ProcessEnv = { ...process.env, AQUAML_DATA_DIR: freshEmbeddedDir() };
  delete embedded.DATABASE_URL;
  delete embedded.REDIS_URL;
  const dir = embedded.AQUAML_DATA_DIR!;
  const server = spawn(process.execPath, [join(root, 'bin/aquaml.js'), 'serve', '--port', '0'], {
    cwd: root,
    env: { ...embedded, HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  const exited = new Promise((r) => server.once('exit', r));
  try {
    const socket = join(dir, 'aquaml.sock');
    for (let i = 0; i < 600 && !existsSync(socket); i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.ok(existsSync(socket), 'the server opened its admin socket');
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    const env = { ...embedded, LOG_LEVEL: 'warn' };
    const cli = (...args: string[]) =>
      run(process.execPath, [join(root, 'bin/aquaml.js'), ...args], { cwd: root, env });
    const username = unique('live');
    const created = await cli(
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
    assert.match((await cli('users', 'list')).stdout, new RegExp(`${username}\\s+admin\\s+active`));
    assert.match((await cli('models', 'list')).stdout, /^species\s+1\s+ready\s+champion/m);
    await assert.rejects(
      cli(
        'users',
        'create',
        '--username',
        username,
        '--email',
        'x@example.org',
        '--password',
        PASSWORD,
      ),
      (err: { code: number; stderr: string }) =>
        err.code === 2 && /username is already taken/.test(err.stderr),
    );
    // Commands that need the database to themselves still say who holds it.
    await assert.rejects(
      cli('migrate'),
      (err: { code: number; stderr: string }) =>
        err.code === 2 && /in use by another AquaML process/.test(err.stderr),
    );
  } finally {
    server.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
});

const speciesData = join(root, '..', 'shared', 'data', 'fish-species');

test(
  'aquaml train on a folder with the wrong layout says which layout it expects',
  {
    skip: existsSync(speciesData)
      ? false
      : `needs the data set at ${speciesData} (its parent of train/ and val/)`,
  },
  async () => {
    const data = speciesData;
    await assert.rejects(
      aquaml('train', '--task', 'species', '--data', data, '--name', 'wrong-layout'),
      (err: { code: number; stderr: string }) => {
        assert.notEqual(err.code, 0);
        assert.match(err.stderr, /<class>\/\*\.png/);
        assert.match(err.stderr, /did you mean .*fish-species\/train/);
        assert.doesNotMatch(err.stderr, /Cannot read properties/);
        return true;
      },
    );
  },
);
