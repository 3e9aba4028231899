// Another broker on MQTT_PORT (Mosquitto on a developer's machine) must not stop the platform:
// it starts without the embedded broker and says how to use that broker or another port.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createLogger } from '../../src/logger.ts';
import { startTestApp } from '../support/app.ts';
import { logLines } from '../support/log-lines.ts';

test('a busy MQTT_PORT leaves the platform running and names the settings that fix it', async () => {
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const port = (holder.address() as AddressInfo).port;
  const { lines, sink } = logLines();
  try {
    const t = await startTestApp({
      // The embedded broker even when MQTT_URL is set for the other suites.
      overrides: {
        MQTT_URL: '',
        MQTT_PORT: String(port),
        MQTT_HOST: '127.0.0.1',
        LOG_LEVEL: 'error',
      },
      context: { logger: createLogger('error', 'aquaml', sink) },
    });
    try {
      assert.equal(t.ctx.telemetry.mqttPort(), undefined);
      assert.equal((await t.app.inject('/health')).statusCode, 200);
      const said = lines.filter((l) => l.msg.includes(`MQTT_PORT ${port}`));
      assert.equal(said.length, 1, JSON.stringify(lines));
      assert.match(said[0]!.msg, /MQTT_URL=mqtt:\/\/127\.0\.0\.1:\d+.*MQTT_PORT to another port/);
    } finally {
      await t.close();
    }
  } finally {
    holder.close();
  }
});
