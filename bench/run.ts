// npm run bench [-- <suite> ...]: runs the named benchmark suites (all by default), one process each.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const SUITES: Record<string, string> = {
  platform: 'platform.ts',
  inference: 'inference.ts',
};

const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = asked.length ? asked : Object.keys(SUITES);
for (const name of names) {
  const file = SUITES[name];
  if (!file || !existsSync(join(import.meta.dirname, file))) {
    console.error(`unknown benchmark suite "${name}"; have: ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n### bench: ${name}`);
  const res = spawnSync(
    process.execPath,
    [join(import.meta.dirname, '..', 'bin/run-ts.js'), join(import.meta.dirname, file)],
    {
      stdio: 'inherit',
    },
  );
  if (res.status !== 0) process.exit(res.status ?? 1);
}
