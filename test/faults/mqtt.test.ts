// The MQTT broker restarted (issue 15): a disposable Mosquitto of this test's own (persistence on)
// is killed under `aquaml serve` subscribed to it, while a persistent device client keeps
// publishing QoS 1 readings. The app holds a persistent session of its own (one client id, a plain
// QoS 1 subscription), so what the device sends the moment the broker is back, before the app's
// subscriber has reconnected, waits in that session: every reading sent before, during and right
// after the outage is stored, each exactly once. The same when the app itself restarts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectAsync } from 'mqtt';
import { isolatedDatabase, MONITORING_TOKEN } from '../support/app.ts';
import { connect, serverEnv, startServer } from './support/api.ts';
import { leaseHeld, mqttReadings, sensorTopic } from './support/mqtt-readings.ts';
import { mosquittoSkip, sleep, startMosquitto, waitUntil } from './support/services.ts';

const BATCH = 10;

test(
  'broker killed and restarted, then the app: every QoS 1 reading sent during and right after either outage is stored once',
  { skip: mosquittoSkip, timeout: 120_000 },
  async () => {
    const broker = await startMosquitto();
    const db = await isolatedDatabase();
    const { admin, env } = serverEnv(db.dataDir, {
      ...db.overrides,
      MQTT_URL: broker.url,
      // A short expiry: a session this test leaves behind goes away by itself.
      MQTT_SESSION_EXPIRY_SECONDS: '120',
      AQUAML_METRICS_TOKEN: MONITORING_TOKEN,
      LOG_LEVEL: process.env.FAULT_LOG_LEVEL ?? 'error',
    });
    let server = await startServer(env, { waitFor: '/ready' });
    const device = await connectAsync(broker.url, {
      clientId: `sensor-${process.pid}`,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 200,
    });
    try {
      // The only process holds the ingest lease (and says so).
      assert.equal(await leaseHeld(server), 1);
      let api = await connect(server, admin, 'create');
      const topic = await sensorTopic(api, 'temperature');
      // Distinct values and times, one second apart and in the recent past, so each is its own row.
      const readings = mqttReadings({
        api: () => api,
        device: device,
        topic,
        metric: 'temperature',
        first: 20,
        divisor: 100,
        agoMs: 120_000,
      });
      const { stored, allStored } = readings;
      const send = () => readings.send();

      for (let i = 0; i < BATCH; i++) send();
      await waitUntil(
        'the first readings to be stored',
        async () => (await stored()).length === BATCH,
        30_000,
        250,
      );

      // The broker's sessions (the app's among them) are on disk, as they would be on a broker
      // that had run a while: what its crash loses is then in flight, not the session itself.
      await broker.saved();
      await broker.kill();
      // Published while the broker is down: the device keeps them and sends them on reconnect.
      for (let i = 0; i < BATCH; i++) send();
      await sleep(1500);
      await broker.start();
      await waitUntil('the device to reconnect', () => device.connected, 30_000, 50);
      // Right after the restart, while the app's subscriber (reconnecting every second) is
      // typically not back yet: the broker queues these in the app's session.
      for (let i = 0; i < BATCH; i++) send();

      await allStored('every reading sent around the broker restart to be stored');

      // The app restarted (a deploy): what devices publish while it is down waits in its session.
      await server.stop();
      for (let i = 0; i < BATCH; i++) send();
      server = await startServer(env, { waitFor: '/ready' });
      api = await connect(server, admin, { unitId: api.unitId, sensorKey: api.sensorKey });
      await allStored('every reading sent while the app was down to be stored');
      // New readings still arrive, and the process holds the lease.
      send();
      await allStored('one more reading');
      assert.equal(await leaseHeld(server), 1);
    } finally {
      await device.endAsync(true);
      await server.stop();
      await broker.dispose();
      await db.drop();
    }
  },
);
