import { sql } from 'drizzle-orm';
import type { TestApp } from '../support/app.ts';

const acceptedSoFar = new WeakMap<TestApp, number>();

/**
 * Posts readings and, when they went to the Redis stream (202) rather than straight to the
 * database (200), waits until this app's writer has put them in an insert.
 */
export async function post(t: TestApp, key: string, readings: unknown[]) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/telemetry',
    headers: { 'x-api-key': key },
    payload: { readings },
  });
  if (res.statusCode === 200 || res.statusCode === 202) {
    const total = (acceptedSoFar.get(t) ?? 0) + res.json().accepted;
    acceptedSoFar.set(t, total);
    if (res.statusCode === 202) {
      await waitFor(
        async () => (await counterValue(t, 'aquaml_telemetry_readings_written_total')) >= total,
        5_000,
      );
    }
  }
  return res;
}

/** The status a successful post answers with: 200 stored, or 202 on the Redis stream. */
export const okStatus = () => (process.env.REDIS_URL ? 202 : 200);

export async function countReadings(
  t: TestApp,
  unitId: string,
  metric?: string,
  value?: number,
): Promise<number> {
  const res = await t.ctx.db.execute(sql`
    select count(*)::int as n from readings where unit_id = ${unitId}
    ${metric ? sql`and metric = ${metric}` : sql``}
    ${value !== undefined ? sql`and value = ${value}` : sql``}`);
  return (res as unknown as { rows: { n: number }[] }).rows[0]!.n;
}

/** The sum of a Prometheus counter of the test app over all its labels. */
export async function counterValue(t: TestApp, name: string): Promise<number> {
  const metric = t.ctx.metrics.registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.reduce((s, v) => s + v.value, 0);
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
