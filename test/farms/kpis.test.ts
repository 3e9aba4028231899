// KPIs per unit and farm equal values computed by hand on a fixed log and telemetry fixture; CSV exports.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { readingRollupsHour, readingRollupsMinute } from '../../src/db/schema.ts';
import { signedInUser, startTestApp, type TestApp, type TestUser } from '../support/app.ts';
import { createFarm, createUnit } from './helpers.ts';

let t: TestApp;
let owner: TestUser;
let outsider: TestUser;
let farmId: string;
let unitId: string;
let emptyUnitId: string;

const FROM = '2026-01-01T00:00:00.000Z';
const TO = '2026-01-31T00:00:00.000Z';

async function log(body: Record<string, unknown>) {
  const res = await t.app.inject({
    method: 'POST',
    url: `/api/v1/units/${unitId}/logs`,
    headers: owner.headers,
    payload: body,
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json();
}

before(async () => {
  t = await startTestApp();
  owner = await signedInUser(t, 'operator');
  outsider = await signedInUser(t, 'operator');
  farmId = await createFarm(t, owner, 'KPI farm');
  // 1000 fish of 50 g stocked on 1 December (written to the log by the unit's creation).
  unitId = await createUnit(t, owner, farmId, {
    name: 'Tank K',
    species: 'nile-tilapia',
    stocked_count: 1000,
    stocked_mean_weight_g: 50,
    stocked_at: '2025-12-01T00:00:00.000Z',
  });
  emptyUnitId = await createUnit(t, owner, farmId, { name: 'Tank E' });
  await log({ kind: 'mortality', count: 20, occurred_at: '2025-12-20T00:00:00Z' });
  await log({
    kind: 'growth_sample',
    count: 30,
    mean_weight_g: 80,
    occurred_at: '2025-12-31T00:00:00Z',
  });
  await log({
    kind: 'feeding',
    feed_kg: 20,
    feed_type: 'pellet 2 mm',
    occurred_at: '2026-01-05T08:00:00Z',
  });
  await log({
    kind: 'mortality',
    count: 30,
    cause: '=HYPERLINK("x")',
    occurred_at: '2026-01-10T00:00:00Z',
  });
  await log({
    kind: 'treatment',
    product: 'salt bath',
    dose: '5 g/L',
    occurred_at: '2026-01-12T00:00:00Z',
  });
  await log({ kind: 'feeding', feed_kg: 25, occurred_at: '2026-01-15T08:00:00Z' });
  await log({
    kind: 'harvest',
    count: 200,
    mean_weight_g: 110,
    note: 'sorted, graded',
    occurred_at: '2026-01-20T00:00:00Z',
  });
  await log({ kind: 'feeding', feed_kg: 15, occurred_at: '2026-01-25T08:00:00Z' });
  await log({
    kind: 'growth_sample',
    count: 30,
    mean_weight_g: 120,
    occurred_at: '2026-01-30T00:00:00Z',
  });
  // After the period: not counted.
  await log({ kind: 'feeding', feed_kg: 99, occurred_at: '2026-02-05T08:00:00Z' });

  // Per-minute water-quality rollups (the telemetry pipeline's table). Nile tilapia: 20-30 C, DO >= 4 mg/L.
  const m = (minute: number) => new Date(Date.parse('2026-01-10T00:00:00Z') + minute * 60_000);
  const row = (minute: number, metric: string, min: number, max: number) => ({
    unitId,
    metric,
    bucket: m(minute),
    min,
    max,
    sum: min + max,
    count: 2,
  });
  await t.ctx.db.insert(readingRollupsMinute).values([
    row(0, 'temperature', 24, 26),
    row(0, 'dissolved_oxygen', 5, 7), // compliant
    row(1, 'temperature', 24, 26),
    row(1, 'dissolved_oxygen', 3.5, 5), // oxygen dipped below 4: not compliant
    row(2, 'temperature', 29, 31), // too warm at its maximum: not compliant
    row(3, 'temperature', 25, 25), // compliant
    row(4, 'turbidity', 10, 12), // no range: not judged
    { ...row(0, 'temperature', 40, 41), bucket: new Date('2026-02-10T00:00:00Z') }, // outside the period
  ]);
  // Hourly rollups: an hour whose minutes retention removed counts as 60 compliant minutes; an hour
  // that still has its minutes is judged by them.
  await t.ctx.db.insert(readingRollupsHour).values([
    { ...row(0, 'temperature', 22, 28), bucket: new Date('2026-01-03T05:00:00Z') },
    { ...row(0, 'temperature', 24, 31), bucket: new Date('2026-01-10T00:00:00Z') },
  ]);
});
after(() => t.close());

const close = (actual: number | null, expected: number, what: string) =>
  assert.ok(
    actual !== null && Math.abs(actual - expected) < 1e-6,
    `${what}: ${actual} != ${expected}`,
  );

describe('KPIs', () => {
  test('a unit’s KPIs equal the hand-computed values', async () => {
    const res = await t.app.inject({
      url: `/api/v1/units/${unitId}/kpis?from=${FROM}&to=${TO}`,
      headers: owner.headers,
    });
    assert.equal(res.statusCode, 200, res.body);
    const k = res.json();
    // Fish: 1000 stocked - 20 dead before the period = 980; then 30 dead, 200 harvested -> 750.
    assert.deepEqual(k.fish, { start: 980, stocked: 0, dead: 30, harvested: 200, end: 750 });
    close(k.mortality_rate, 30 / 980, 'mortality rate');
    close(k.survival_rate, (750 + 200) / 980, 'survival rate');
    assert.deepEqual(k.mean_weight_g, { start: 80, end: 120 });
    // Biomass: 980 x 80 g = 78.4 kg; 750 x 120 g = 90 kg; harvested 200 x 110 g = 22 kg.
    close(k.biomass_kg.start, 78.4, 'biomass start');
    close(k.biomass_kg.end, 90, 'biomass end');
    close(k.biomass_kg.harvested, 22, 'biomass harvested');
    close(k.biomass_kg.gain, 90 + 22 - 78.4, 'biomass gain');
    assert.equal(k.feed_kg, 60);
    close(k.fcr, 60 / 33.6, 'FCR');
    // 80 g on 31 Dec -> 120 g on 30 Jan: 30 days.
    close(k.sgr_percent_per_day, (100 * Math.log(120 / 80)) / 30, 'SGR');
    assert.equal(k.days, 30);
    assert.deepEqual(k.water_quality, {
      compliance: 62 / 64,
      minutes_measured: 64,
      minutes_compliant: 62,
      metrics: ['dissolved_oxygen', 'temperature'],
    });
  });

  test('a farm’s KPIs sum its units and recompute the rates', async () => {
    const res = await t.app.inject({
      url: `/api/v1/farms/${farmId}/kpis?from=${FROM}&to=${TO}`,
      headers: owner.headers,
    });
    assert.equal(res.statusCode, 200, res.body);
    const k = res.json();
    assert.equal(k.units.length, 2);
    const empty = k.units.find((u: { unit_id: string }) => u.unit_id === emptyUnitId);
    assert.deepEqual(empty.fish, { start: 0, stocked: 0, dead: 0, harvested: 0, end: 0 });
    assert.equal(empty.mortality_rate, null);
    assert.equal(empty.water_quality.compliance, null);
    assert.deepEqual(k.fish, { start: 980, stocked: 0, dead: 30, harvested: 200, end: 750 });
    close(k.fcr, 60 / 33.6, 'farm FCR');
    close(k.mean_weight_g.end, 120, 'farm mean weight');
    close(k.sgr_percent_per_day, (100 * Math.log(1.5)) / 30, 'farm SGR');
    assert.equal(k.water_quality.compliance, 62 / 64);
  });

  test('KPIs need from, a sane period and membership', async () => {
    const noFrom = await t.app.inject({
      url: `/api/v1/units/${unitId}/kpis`,
      headers: owner.headers,
    });
    assert.equal(noFrom.statusCode, 400);
    const reversed = await t.app.inject({
      url: `/api/v1/units/${unitId}/kpis?from=${TO}&to=${FROM}`,
      headers: owner.headers,
    });
    assert.equal(reversed.statusCode, 400);
    assert.equal(reversed.json().errors[0].field, 'querystring.from');
    for (const url of [
      `/api/v1/units/${unitId}/kpis?from=${FROM}`,
      `/api/v1/farms/${farmId}/kpis?from=${FROM}`,
      `/api/v1/farms/${farmId}/kpis.csv?from=${FROM}`,
      `/api/v1/units/${unitId}/logs.csv`,
    ]) {
      const res = await t.app.inject({ url, headers: outsider.headers });
      assert.equal(res.statusCode, 404, url);
    }
  });
});

describe('CSV exports', () => {
  test('a unit’s logs for a period, oldest first, quoted and safe for spreadsheets', async () => {
    const res = await t.app.inject({
      url: `/api/v1/units/${unitId}/logs.csv?from=${FROM}&to=${TO}`,
      headers: owner.headers,
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(res.headers['content-type'] as string, /^text\/csv/);
    assert.match(res.headers['content-disposition'] as string, /attachment; filename="logs-/);
    const lines = res.body.trimEnd().split('\r\n');
    assert.equal(
      lines[0],
      'id,farm_id,unit_id,kind,occurred_at,count,mean_weight_g,feed_kg,feed_type,cause,product,dose,note,created_by,created_at,updated_by,updated_at',
    );
    assert.equal(lines.length, 1 + 7);
    const kinds = lines.slice(1).map((l) => l.split(',')[3]);
    assert.deepEqual(kinds, [
      'feeding',
      'mortality',
      'treatment',
      'feeding',
      'harvest',
      'feeding',
      'growth_sample',
    ]);
    assert.ok(lines[2]!.includes(`"'=HYPERLINK(""x"")"`), lines[2]);
    assert.ok(lines[5]!.includes('"sorted, graded"'), lines[5]);
  });

  test('a farm’s KPIs: one row per unit, then the farm', async () => {
    const res = await t.app.inject({
      url: `/api/v1/farms/${farmId}/kpis.csv?from=${FROM}&to=${TO}`,
      headers: owner.headers,
    });
    assert.equal(res.statusCode, 200, res.body);
    const [header, ...rows] = res.body.trimEnd().split('\r\n');
    const cols = header!.split(',');
    assert.equal(rows.length, 3);
    const farmRow = rows[2]!.split(',');
    assert.equal(farmRow[cols.indexOf('scope')], 'farm');
    assert.equal(farmRow[cols.indexOf('fish_end')], '750');
    assert.equal(farmRow[cols.indexOf('feed_kg')], '60');
    assert.equal(farmRow[cols.indexOf('water_quality_compliance')], String(62 / 64));
    const unitCsv = await t.app.inject({
      url: `/api/v1/units/${unitId}/kpis.csv?from=${FROM}&to=${TO}`,
      headers: owner.headers,
    });
    const [, unitRow] = unitCsv.body.trimEnd().split('\r\n');
    assert.equal(unitRow!.split(',')[cols.indexOf('fish_dead')], '30');
  });
});
