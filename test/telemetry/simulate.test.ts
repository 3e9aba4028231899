// `aquaml simulate` against a running app, over HTTP and MQTT, bounded in time.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createFarm } from '../farms/helpers.ts';
import { signedInUser, startTestApp, type TestApp, type TestUser } from '../support/app.ts';
import { countReadings, waitFor } from './helpers.ts';

const ROOT = join(import.meta.dirname, '..', '..');
let t: TestApp;
let owner: TestUser;
let url: string;

before(async () => {
  t = await startTestApp({ overrides: { MQTT_URL: '' } });
  owner = await signedInUser(t, 'operator');
  url = await t.app.listen({ port: 0, host: '127.0.0.1' });
});
after(() => t.close());

function simulate(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/aquaml.js'), 'simulate', ...args], {
      cwd: ROOT,
      env: { ...process.env, AQUAML_TOKEN: owner.token, LOG_LEVEL: 'silent' },
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('close', (code) => resolve({ code, out }));
  });
}

test('simulate creates the units and their sensors, publishes over HTTP and MQTT, and stops', async () => {
  const farmId = await createFarm(t, owner);
  const http = await simulate([
    '--farm',
    farmId,
    '--units',
    '2',
    '--rate',
    '10/s',
    '--duration',
    '2s',
    '--faults',
    '--url',
    url,
  ]);
  assert.equal(http.code, 0, http.out);
  const stats = JSON.parse(http.out.trim().split('\n').at(-1)!);
  // 2 units x 10/s x 2 s are owed; on a loaded machine ticks find a send still running and skip.
  assert.ok(stats.sent > 0 && stats.sent + stats.skipped_while_busy >= 30, http.out);
  assert.equal(stats.failed, 0);
  assert.equal(stats.oxygen_crash_units.length, 1);
  const units = (
    await t.app.inject({ url: `/api/v1/farms/${farmId}/units`, headers: owner.headers })
  ).json().items as { id: string }[];
  assert.equal(units.length, 2);
  const stored = async () =>
    (await countReadings(t, units[0]!.id)) + (await countReadings(t, units[1]!.id));
  // With REDIS_URL the last readings may still be on the stream when the command ends.
  await waitFor(async () => (await stored()) >= stats.sent, 5_000);
  assert.equal(await stored(), stats.sent);

  const mqtt = await simulate([
    '--farm',
    farmId,
    '--units',
    '2',
    '--rate',
    '5/s',
    '--duration',
    '1s',
    '--via',
    'mqtt',
    '--url',
    url,
    '--mqtt-url',
    `mqtt://127.0.0.1:${t.ctx.telemetry.mqttPort()}`,
  ]);
  assert.equal(mqtt.code, 0, mqtt.out);
  assert.ok(JSON.parse(mqtt.out.trim().split('\n').at(-1)!).sent > 0, mqtt.out);

  const bad = await simulate(['--farm', farmId, '--rate', 'fast', '--url', url]);
  assert.equal(bad.code, 2);
  assert.match(bad.out, /--rate/);
});
