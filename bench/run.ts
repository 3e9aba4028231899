// npm run bench [-- <suite> ... [--option value ...]]: runs the named benchmark suites (all by
// default; soak only when named), one process each. Options after the suite names go to each suite,
// e.g. npm run bench -- soak --minutes 2.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const SUITES: Record<string, string> = {
  platform: 'platform.ts',
  inference: 'inference.ts',
  performance: 'performance.ts',
  ingest: 'ingest.ts',
  uploads: 'uploads.ts',
  soak: 'soak.ts',
};
/** Suites that run only when named: the soak takes minutes by design. */
const ON_REQUEST = new Set(['soak']);

const argv = process.argv.slice(2);
const firstOption = argv.findIndex((a) => a.startsWith('-'));
const asked = firstOption === -1 ? argv : argv.slice(0, firstOption);
const forwarded = firstOption === -1 ? [] : argv.slice(firstOption);
const names = asked.length ? asked : Object.keys(SUITES).filter((n) => !ON_REQUEST.has(n));
for (const name of names) {
  const file = SUITES[name];
  if (!file || !existsSync(join(import.meta.dirname, file))) {
    console.error(`unknown benchmark suite "${name}"; have: ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n### bench: ${name}`);
  const res = spawnSync(
    process.execPath,
    [
      join(import.meta.dirname, '..', 'bin/run-ts.js'),
      join(import.meta.dirname, file),
      ...forwarded,
    ],
    {
      stdio: 'inherit',
    },
  );
  if (res.status !== 0) process.exit(res.status ?? 1);
}
