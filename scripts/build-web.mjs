#!/usr/bin/env node
// Builds the dashboard (web/ -> web/dist) with Vite, then prints the gzipped size of every chunk
// and of what the first page loads (the entry chunk, its static imports and CSS), and fails when
// the first load is over budget. Run by `npm start` and `npm test` with --if-stale (build only when
// a source under web/ is newer than web/dist; installs run no scripts, see .npmrc) and by
// `npm run build:web`.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET_KB = 300;
const root = resolve(import.meta.dirname, '..');
const web = join(root, 'web');
const dist = join(web, 'dist');

/** The newest modification time of the dashboard's sources (web/ less its build output). */
function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules') continue;
    const path = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const index = join(dist, 'index.html');
if (
  process.argv.includes('--if-stale') &&
  existsSync(index) &&
  statSync(index).mtimeMs >= newestSource(web)
) {
  process.exit(0);
}

let vite;
try {
  vite = await import('vite');
} catch {
  // A production install (--omit=dev) has no build tools; it is given a built web/dist.
  console.log('dashboard: vite is not installed (production install?); build skipped');
  process.exit(0);
}

const started = Date.now();
await vite.build({
  configFile: join(web, 'vite.config.ts'),
  logLevel: 'warn',
  build: { manifest: true },
});

const manifest = JSON.parse(readFileSync(join(dist, '.vite', 'manifest.json'), 'utf8'));
const gz = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
const kb = (bytes) => (bytes / 1024).toFixed(1).padStart(7);

// The first page: the entry and the chunks it imports statically, transitively, with their CSS.
const entry = Object.keys(manifest).find((k) => manifest[k].isEntry);
const first = new Set();
const visit = (key) => {
  const chunk = manifest[key];
  if (!chunk || first.has(chunk.file)) return;
  first.add(chunk.file);
  for (const css of chunk.css ?? []) first.add(css);
  for (const dep of chunk.imports ?? []) visit(dep);
};
visit(entry);

const files = [...new Set(Object.values(manifest).flatMap((c) => [c.file, ...(c.css ?? [])]))];
const rows = files
  .filter((f) => existsSync(join(dist, f)))
  .map((f) => ({ f, raw: statSync(join(dist, f)).size, gz: gz(f), first: first.has(f) }))
  .sort((a, b) => b.gz - a.gz);

console.log(`dashboard built in ${((Date.now() - started) / 1000).toFixed(1)} s -> web/dist`);
console.log('   raw kB  gzip kB  chunk');
for (const r of rows)
  console.log(`${kb(r.raw)}  ${kb(r.gz)}  ${r.f}${r.first ? '  (first page)' : ''}`);
const firstJs = rows.filter((r) => r.first && r.f.endsWith('.js')).reduce((s, r) => s + r.gz, 0);
const total = rows.reduce((s, r) => s + r.gz, 0);
console.log(
  `first page JavaScript: ${(firstJs / 1024).toFixed(1)} kB gzipped (budget ${BUDGET_KB} kB)`,
);
console.log(`all chunks: ${(total / 1024).toFixed(1)} kB gzipped, ${rows.length} files`);
if (firstJs > BUDGET_KB * 1024) {
  console.error(`dashboard: the first page is over its ${BUDGET_KB} kB budget`);
  process.exit(1);
}
