// End-to-end: the built dashboard in Debian's chromium against a real `aquaml serve` process on
// embedded defaults. Writes a screenshot of every page at 1280x800 and 390x844 to tmp/screenshots/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { noisePng } from '../support/images.ts';
import { DATASETS } from '../support/models.ts';
import { ROOT, type RunningApi, startApi } from './server.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(ROOT, 'tmp', 'screenshots');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const skip = !existsSync(CHROMIUM)
  ? `chromium not installed at ${CHROMIUM} (apt-get install chromium)`
  : !existsSync(join(ROOT, 'web', 'dist', 'index.html'))
    ? 'the dashboard is not built (npm run build:web)'
    : false;

/** A validation image of a species the shipped model knows well. */
function fishImage(): string | undefined {
  const dir = join(DATASETS, 'fish-species', 'val', 'amphiprion-clarkii');
  if (!existsSync(dir)) return undefined;
  const file = readdirSync(dir).sort()[0];
  return file ? join(dir, file) : undefined;
}

describe('dashboard in a real browser', { skip }, () => {
  let api: RunningApi;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const absentRoutes = new Set<string>();
  let routes: RegExp[] = [];
  const hasRoute = (path: string) => routes.some((r) => r.test(path));
  let unitUnderTest:
    | {
        farm: string;
        unit: string;
        post: (
          path: string,
          body: unknown,
          headers?: Record<string, string>,
        ) => Promise<Record<string, unknown>>;
      }
    | undefined;

  async function shoot(name: string): Promise<void> {
    // From the top, or the fixed app bar lands mid-page in a full-page shot.
    await page.evaluate('window.scrollTo(0, 0)');
    await page.setViewportSize(DESKTOP);
    await page.waitForLoadState('networkidle').catch(() => undefined);
    await page.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: true });
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
    await page.setViewportSize(DESKTOP);
  }

  async function go(link: string): Promise<void> {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: link, exact: true })
      .click();
    await page.getByRole('heading', { level: 1, name: link }).waitFor();
  }

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    // A dashboard source newer than its build is rebuilt, so the test never drives a stale bundle.
    const built = statSync(join(ROOT, 'web', 'dist', 'index.html')).mtimeMs;
    const newest = (dir: string): number =>
      Math.max(
        ...readdirSync(dir, { withFileTypes: true }).map((e) =>
          e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
        ),
      );
    if (newest(join(ROOT, 'web', 'src')) > built) {
      const build = spawnSync(process.execPath, ['scripts/build-web.mjs'], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      assert.equal(build.status, 0, build.stderr);
    }
    api = await startApi();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    const context = await browser.newContext({ viewport: DESKTOP });
    page = await context.newPage();
    // Routes of parts not merged into this build (the System page probes /api/v1/metrics/performance
    // and falls back to /metrics): their 404 is expected here, and nowhere else.
    const spec = (await (await fetch(`${api.url}/docs/json`)).json()) as { paths: object };
    routes = Object.keys(spec.paths).map(
      (p) => new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+').replace(/\/$/, '')}/?$`),
    );
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      const url = new URL(m.location().url || api.url);
      const absent = url.pathname.startsWith('/api/') && !hasRoute(url.pathname);
      if (absent) absentRoutes.add(url.pathname);
      else problems.push(`console: ${m.text()} (${url.pathname})`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  });

  after(async () => {
    // The server's own log, to tell a dashboard fault from a server one.
    if (api && /"level":(50|60)|Error/.test(api.log())) console.log(api.log().slice(-5000));
    await browser?.close();
    await api?.stop();
  });

  test('sign in shows role-aware navigation', async () => {
    await page.goto(api.url);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await shoot('signin');
    await page.getByLabel('Username').fill(api.admin.username);
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    problems.length = 0; // the refused sign-in's 401 is logged by the browser, as it should be
    await page.getByLabel('Password').fill(api.admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const name of [
      'Classify',
      'History',
      'Models',
      'Tasks',
      'Farms',
      'Alerts',
      'System',
      'Admin',
    ]) {
      await nav.getByRole('link', { name, exact: true }).waitFor();
    }
  });

  test('a reload keeps the session (refresh token), without the access token in storage', async () => {
    await page.reload();
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Classify' })
      .waitFor();
    // Only the refresh token (opaque) may be stored; an access token (a JWT, "eyJ...") never.
    const stored = await page.evaluate<string>(
      'JSON.stringify({ ...sessionStorage, ...localStorage })',
    );
    assert.ok(!stored.includes('eyJ'), 'no JWT in web storage');
  });

  test('classify an image, see the species, correct it, see the correction in History', async (t) => {
    const image = fishImage();
    if (!image) return t.skip('no validation image under ../shared/data/fish-species/val');
    await go('Classify');
    await shoot('classify-empty');
    const species = (await (
      await fetch(`${api.url}/api/v1/predictions/species`, {
        headers: { authorization: `Bearer ${await token()}` },
      })
    ).json()) as { items: { label: string; common_name: string | null }[] };
    await page.locator('input[type=file]').setInputFiles(image);
    const card = page.getByRole('article', { name: /Result for/ });
    const heading = card.getByRole('heading', { level: 2 });
    await heading.waitFor({ timeout: 60_000 });
    const shown = (await heading.textContent())!.trim();
    const names = species.items.map((s) => s.common_name ?? s.label);
    assert.ok(names.includes(shown), `"${shown}" is one of the model's species`);
    assert.equal(shown, "Clark's anemonefish");
    await card
      .getByText('Top candidates')
      .or(card.getByRole('list', { name: 'Top candidates' }))
      .first()
      .waitFor();
    await shoot('classify-result');

    await card.getByLabel('This is actually…').click();
    await page.getByRole('option', { name: 'Oval butterflyfish' }).click();
    await card.getByText('Correction saved: Oval butterflyfish').waitFor();

    await go('History');
    await page
      .getByRole('table', { name: 'Predictions' })
      .getByText('Corrected: Oval butterflyfish')
      .waitFor();
    await page
      .getByRole('img', { name: /Image classified as/ })
      .first()
      .waitFor();
    await shoot('history');
  });

  test('an image without a fish is answered unknown, in plain words', async () => {
    await go('Classify');
    await page.locator('input[type=file]').setInputFiles({
      name: 'empty-frame.png',
      mimeType: 'image/png',
      buffer: await noisePng(96, 64, 7),
    });
    const card = page.getByRole('article', { name: 'Result for empty-frame.png' });
    await card.getByText('Unknown: this does not look like a fish.').waitFor({ timeout: 60_000 });
    assert.equal(await card.getByRole('heading', { level: 2 }).count(), 0, 'no species named');
    await shoot('classify-unknown');
  });

  test('promote a model version', async () => {
    await go('Models');
    await page.getByRole('table', { name: 'Model versions' }).waitFor();
    await page.getByRole('button', { name: 'Make v1 challenger' }).click();
    await page.getByText('v1 is now the challenger').waitFor();
    const row = page
      .getByRole('table', { name: 'Model versions' })
      .getByRole('row', { name: /v1/ });
    await row.getByText('challenger', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Card v1' }).click();
    await page.getByRole('img', { name: 'Confusion matrix' }).waitFor();
    await shoot('models-card');
    await page.getByRole('button', { name: 'Close' }).click();
    await shoot('models');
  });

  test('tasks, system and admin pages show live data', async () => {
    await go('Tasks');
    await shoot('tasks');
    await go('System');
    await page.getByText('database', { exact: true }).waitFor();
    // Two scrapes make the first window.
    await page.getByText('Latency p95').waitFor();
    await page.waitForTimeout(6_000);
    await shoot('system');
    await go('Admin');
    await page.getByRole('table', { name: 'Users' }).waitFor();
    await shoot('admin-users');
    await page.getByRole('tab', { name: 'API keys' }).click();
    await page.getByLabel('Key name').fill('camera tank 3');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByText('it is shown once and never again').waitFor();
    await shoot('admin-keys');
    await page.getByRole('tab', { name: 'Audit log' }).click();
    await page.getByRole('table', { name: 'Audit log' }).getByText('api_key.created').waitFor();
    await page
      .getByRole('table', { name: 'Audit log' })
      .getByText('model.alias_moved')
      .first()
      .waitFor();
    await shoot('admin-audit');
  });

  test('farms: units at a glance, a unit page, an operational log entry', async (t) => {
    if (!hasRoute('/api/v1/farms')) {
      await go('Farms');
      await shoot('farms');
      return t.skip('the farm API is not in this build');
    }
    const admin = await token();
    const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(`${api.url}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${admin}`,
          ...headers,
        },
        body: JSON.stringify(body),
      });
      assert.ok(res.ok, `${path}: ${res.status} ${await res.clone().text()}`);
      return (await res.json()) as Record<string, unknown>;
    };
    const farm = await post('/api/v1/farms', {
      name: 'Lakeside hatchery',
      location: 'Lake Victoria',
    });
    const tank = await post(`/api/v1/farms/${farm.id}/units`, {
      name: 'Tank 1',
      kind: 'tank',
      species: 'nile-tilapia',
      volume_m3: 12,
      stocked_count: 2000,
      stocked_mean_weight_g: 40,
    });
    await post(`/api/v1/farms/${farm.id}/units`, {
      name: 'Pond A',
      kind: 'pond',
      species: 'common-carp',
    });
    unitUnderTest = { farm: String(farm.id), unit: String(tank.id), post };
    // A camera of the tank sends one frame, for the unit's species counts.
    const image = fishImage();
    if (image) {
      const camera = await post(`/api/v1/units/${tank.id}/devices`, {
        name: 'cam 1',
        kind: 'camera',
      });
      const form = new FormData();
      form.append('file', new Blob([readFileSync(image)], { type: 'image/jpeg' }), 'frame.jpg');
      const frame = await fetch(`${api.url}/api/v1/units/${tank.id}/frames`, {
        method: 'POST',
        headers: { 'x-api-key': String(camera.api_key) },
        body: form,
      });
      assert.equal(frame.status, 200, await frame.clone().text());
    }

    await go('Farms');
    await page.getByRole('link', { name: /Unit Tank 1/ }).waitFor();
    await shoot('farms');
    await page.getByRole('link', { name: /Unit Tank 1/ }).click();
    await page.getByRole('heading', { level: 1, name: 'Tank 1' }).waitFor();
    const kpis = page.getByRole('table', { name: 'KPI values' });
    await kpis.getByRole('row', { name: 'Fish (start → end) 0 → 2,000' }).waitFor();
    await kpis.getByRole('row', { name: 'Survival 100.0 %' }).waitFor();
    const species = page.getByRole('region', { name: 'Species from cameras' });
    if (image) await species.getByText(/^1 frame, /).waitFor();
    else await species.getByText('No camera frames classified for this unit yet.').waitFor();
    await page.getByLabel('Dead fish').fill('3');
    await page.getByLabel('Cause').fill('handling');
    await page.getByRole('button', { name: 'Save entry' }).click();
    await page.getByText('Mortality logged.').waitFor();
    await page
      .getByRole('table', { name: 'Recent log entries' })
      .getByText(/3 fish · handling/)
      .waitFor();
    // The KPIs follow the log: 3 dead of 2,000 stocked.
    await kpis.getByRole('row', { name: 'Dead 3' }).waitFor();
    await kpis.getByRole('row', { name: /^Mortality rate 0\.[12] %$/ }).waitFor();
    await shoot('unit');
  });

  test('alerts: simulated readings raise an alert, a chart updates live, acknowledge it', async (t) => {
    if (!unitUnderTest || !hasRoute('/api/v1/telemetry') || !hasRoute('/api/v1/alerts')) {
      await go('Alerts');
      await shoot('alerts');
      return t.skip('the telemetry and alerts API is not in this build');
    }
    const { farm, unit, post } = unitUnderTest;
    const device = await post(`/api/v1/units/${unit}/devices`, { name: 'probe 1', kind: 'sensor' });
    const send = (readings: { metric: string; value: number; ts?: string }[]) =>
      post('/api/v1/telemetry', { readings }, { 'x-api-key': String(device.api_key) });
    // Ten minutes of oxygen far below tilapia's range (a crash), one reading every 30 s.
    const now = Date.now();
    const crash = Array.from({ length: 20 }, (_, i) => ({
      metric: 'dissolved_oxygen',
      value: 1.2 + (i % 3) * 0.05,
      ts: new Date(now - (20 - i) * 30_000).toISOString(),
    }));
    await send([
      ...crash,
      { metric: 'temperature', value: 26.5, ts: new Date(now - 60_000).toISOString() },
    ]);

    await page.goto(`${api.url}/farms/${farm}/units/${unit}`);
    const chart = page.getByRole('region', { name: 'Dissolved oxygen chart' }).getByRole('img');
    await chart.waitFor();
    const before = await chart.getAttribute('aria-label');
    await send([{ metric: 'dissolved_oxygen', value: 6.8 }]);
    // The new reading must show without a reload (the page follows the unit's SSE stream).
    const deadline = Date.now() + 30_000;
    while ((await chart.getAttribute('aria-label')) === before) {
      assert.ok(Date.now() < deadline, `the oxygen chart did not update: ${before}`);
      await page.waitForTimeout(250);
    }
    assert.match((await chart.getAttribute('aria-label'))!, /6\.8/);
    await shoot('unit-live');

    await go('Farms');
    await page.getByRole('link', { name: /Unit Tank 1, 1 open alerts \(critical\)/ }).waitFor();
    await shoot('farms-alerting');

    await go('Alerts');
    const alert = page.getByRole('article', { name: /Alert/ }).first();
    await alert.waitFor({ timeout: 60_000 });
    await shoot('alerts');
    await alert.getByRole('button', { name: 'Acknowledge' }).click();
    await page.getByRole('tab', { name: 'Acknowledged' }).click();
    await page.getByRole('article', { name: /Alert/ }).first().waitFor();
    await page
      .getByRole('article', { name: /Alert/ })
      .first()
      .getByRole('button', { name: 'Timeline' })
      .click();
    await page
      .getByRole('list', { name: 'Timeline' })
      .getByText(/acknowledged by you/)
      .waitFor();
    await shoot('alerts-acknowledged');
  });

  test('sign out returns to the sign-in form', async (t) => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    assert.deepEqual(problems, [], 'no console errors');
    if (absentRoutes.size)
      t.diagnostic(`routes not in this build: ${[...absentRoutes].join(', ')}`);
  });

  async function token(): Promise<string> {
    const res = await fetch(`${api.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(api.admin),
    });
    return ((await res.json()) as { access_token: string }).access_token;
  }
});
