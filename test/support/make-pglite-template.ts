// Builds a migrated, seeded embedded database once, for tests to copy (see scripts/run-tests.mjs).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/db/client.ts';
import { seedSpecies } from '../../src/modules/species/seed.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: make-pglite-template <dir>');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const handle = await openDatabase({ databaseUrl: undefined, dataDir: dir });
await handle.migrate();
await seedSpecies(handle.db);
await handle.close();
writeFileSync(join(dir, 'ready'), new Date().toISOString());
