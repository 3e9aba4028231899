#!/usr/bin/env node
// Runs the test suite with node:test through tsx. Node 20's --test does not expand globs, so the
// files are listed here. Suites that need a real service (PostgreSQL, Redis, MQTT) run when its
// URL is set (DATABASE_URL, REDIS_URL, MQTT_URL) and otherwise skip, saying so.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.test.ts') ? [path] : [];
  });
}

const filters = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));
let files = walk(join(root, 'test')).sort();
if (filters.length) files = files.filter((f) => filters.some((p) => relative(root, f).includes(p)));
if (!files.length) {
  console.error('no test files match', filters.join(' '));
  process.exit(1);
}

const services = [
  ['DATABASE_URL', 'PostgreSQL'],
  ['REDIS_URL', 'Redis'],
  ['MQTT_URL', 'MQTT broker'],
];
console.log('# AquaML tests');
for (const [name, what] of services) {
  console.log(
    process.env[name]
      ? `# ${what}: ${name}=${process.env[name].replace(/\/\/[^@/]*@/, '//***@')}`
      : `# ${what}: ${name} not set; suites that need a real ${what} are skipped (the embedded adapters are tested instead)`,
  );
}

// The dashboard's browser and route tests drive the built bundle: build it when its sources changed.
const web = spawnSync(process.execPath, [join(root, 'scripts/build-web.mjs'), '--if-stale'], {
  stdio: 'inherit',
  cwd: root,
});
if (web.status !== 0) process.exit(web.status ?? 1);

// The embedded database's first start (initdb) takes seconds; tests copy one migrated template.
// The AWS SDK warns on every run under Node 20 that its 2027 releases will need Node 22; the S3
// store suite is not the place for that notice (README states the supported Node range).
const env = {
  ...process.env,
  NODE_ENV: 'test',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};
if (!process.env.DATABASE_URL) {
  const migrations = readdirSync(join(root, 'src/db/migrations'))
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => readFileSync(join(root, 'src/db/migrations', f)))
    .concat(readFileSync(join(root, 'src/modules/species/seed-data.ts')));
  const hash = createHash('sha256').update(Buffer.concat(migrations)).digest('hex').slice(0, 12);
  const template = join(root, 'tmp', `pglite-template-${hash}`);
  if (!existsSync(join(template, 'ready'))) {
    const made = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(root, 'test/support/make-pglite-template.ts'), template],
      { stdio: 'inherit', env },
    );
    if (made.status !== 0) process.exit(made.status ?? 1);
  }
  env.AQUAML_TEST_PGLITE_TEMPLATE = template;
}

const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--import',
    join(root, 'test/support/exit-watch.mjs'),
    '--test',
    '--test-reporter=spec',
    // A hung test fails after this long instead of holding CI until its own time limit.
    '--test-timeout=900000',
    ...flags,
    ...files,
  ],
  { stdio: 'inherit', env, cwd: root },
);
process.exit(result.status ?? 1);
