// Redis stopped under MQTT ingest (issue 15): with REDIS_URL a reading from the broker is taken
// once it is on the Redis stream, and the ingest lease is a Redis key, so while a disposable Redis
// of this test's own is down the app can neither take a reading nor keep the lease. It gives no
// PUBACK and lets the session go; the broker (a disposable Mosquitto) keeps what devices publish
// in the meantime, and once Redis is back every reading is stored, once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectAsync } from 'mqtt';
import { isolatedDatabase, MONITORING_TOKEN } from '../support/app.ts';
import { connect, serverEnv, startServer } from './support/api.ts';
import { leaseHeld, mqttReadings, sensorTopic } from './support/mqtt-readings.ts';
import {
  mosquittoSkip,
  redisSkip,
  startMosquitto,
  startRedis,
  waitUntil,
} from './support/services.ts';

const BATCH = 10;

test(
  'Redis killed under MQTT ingest: readings published during the outage are stored once it is back',
  { skip: redisSkip || mosquittoSkip, timeout: 120_000 },
  async () => {
    const redis = await startRedis();
    const broker = await startMosquitto();
    const db = await isolatedDatabase();
    const { admin, env } = serverEnv(db.dataDir, {
      ...db.overrides,
      REDIS_URL: redis.url,
      MQTT_URL: broker.url,
      MQTT_SESSION_EXPIRY_SECONDS: '120',
      AQUAML_MQTT_LEASE_TTL_MS: '3000',
      AQUAML_METRICS_TOKEN: MONITORING_TOKEN,
      LOG_LEVEL: process.env.FAULT_LOG_LEVEL ?? 'error',
    });
    const server = await startServer(env, { waitFor: '/ready' });
    const device = await connectAsync(broker.url, {
      clientId: `sensor-redis-${process.pid}`,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 200,
    });
    try {
      const api = await connect(server, admin, 'create');
      const topic = await sensorTopic(api, 'dissolved_oxygen');
      const readings = mqttReadings({
        api: () => api,
        device: device,
        topic,
        metric: 'dissolved_oxygen',
        first: 8,
        divisor: 100,
        agoMs: 120_000,
      });
      const { allStored } = readings;
      const send = () => readings.sendAcked();

      for (let i = 0; i < BATCH; i++) await send();
      await allStored('the first readings to be stored');

      await redis.kill();
      // Each accepted by the broker (PUBACK to the device), none can be taken by the app now.
      for (let i = 0; i < BATCH; i++) await send();
      // The lease cannot be renewed without Redis: the app lets the session go.
      await waitUntil('the app to give the lease up', async () => (await leaseHeld(server)) === 0);
      await redis.start();
      for (let i = 0; i < BATCH; i++) await send();
      await allStored('every reading to be stored once Redis is back');
      assert.equal(await leaseHeld(server), 1);
    } finally {
      await device.endAsync(true);
      await server.stop();
      await broker.dispose();
      await redis.dispose();
      await db.drop();
    }
  },
);
