// Preloaded into every test file's process (scripts/run-tests.mjs). A file whose tests are done but
// whose process stays alive (a server, broker or timer left open) would make the runner wait forever:
// name what is still open and fail that file instead of hanging CI. Plain JavaScript, because
// worker threads inherit the preload and may load it before a TypeScript loader is in place.
import { after } from 'node:test';
import { setTimeout } from 'node:timers';
import { isMainThread } from 'node:worker_threads';

const GRACE_MS = 30_000;

if (isMainThread) {
  after(() => {
    setTimeout(() => {
      const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
      process.stderr.write(
        `\nthis test file's process was still alive ${GRACE_MS / 1000} s after its last test; open: ${open.join(', ')}\n`,
      );
      process.exit(1);
    }, GRACE_MS).unref();
  });
}
