// The generated SQL migrations must create every table and column the Drizzle schema declares.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import * as schema from '../../src/db/schema.ts';
import { startTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

test('every schema table and column exists after migrating', async () => {
  const result = await t.ctx.db.execute(
    sql`select table_name, column_name from information_schema.columns where table_schema = current_schema()`,
  );
  const rows = (result as unknown as { rows: { table_name: string; column_name: string }[] }).rows;
  const have = new Set(rows.map((r) => `${r.table_name}.${r.column_name}`));
  const tables = Object.values(schema as Record<string, unknown>).filter(
    (v): v is PgTable => v instanceof PgTable,
  );
  assert.ok(tables.length >= 10);
  const missing = tables.flatMap((table) => {
    const { name, columns } = getTableConfig(table);
    return columns.map((c) => `${name}.${c.name}`).filter((c) => !have.has(c));
  });
  assert.deepEqual(missing, [], 'run `npm run db:generate`: the migrations lag the schema');
});

test('migrating again is a no-op', async () => {
  await t.ctx.database.migrate();
  await t.ctx.database.migrate();
});
