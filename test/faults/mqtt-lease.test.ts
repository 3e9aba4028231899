// Two `aquaml serve` processes on one PostgreSQL, one Redis and one broker (a disposable Mosquitto,
// persistence on): only the process holding the ingest lease subscribes, on the one persistent
// session; every reading is stored once. SIGKILL the holder and the other takes the lease over,
// connects with the same client id and receives what devices published in between (the broker
// queued it in the session). The lease is the Redis key; without REDIS_URL the same runs on the
// PostgreSQL advisory lock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectAsync } from 'mqtt';
import type { RunningServer } from '../../bench/support/server.ts';
import { deleteRedisKeys, isolatedDatabase, MONITORING_TOKEN } from '../support/app.ts';
import { connect, serverEnv, startServer } from './support/api.ts';
import { leaseHeld, metricValue, mqttReadings, sensorTopic } from './support/mqtt-readings.ts';
import { mosquittoSkip, startMosquitto, waitUntil } from './support/services.ts';

const skip = process.env.DATABASE_URL
  ? mosquittoSkip
  : 'set DATABASE_URL (and REDIS_URL) to run the two-process ingest lease test (PGlite is single-process)';
const leaseKind = process.env.REDIS_URL ? 'Redis' : 'PostgreSQL';

const BATCH = 20;

const mqttAccepted = (s: RunningServer) =>
  metricValue(s, /^aquaml_telemetry_readings_accepted_total\{door="mqtt"\} (\d+)$/m);

test(
  `two processes: one holds the ingest lease (${leaseKind}); after a SIGKILL the other takes over and gets the queued readings`,
  { skip, timeout: 120_000 },
  async () => {
    const broker = await startMosquitto();
    const db = await isolatedDatabase();
    const { admin, env } = serverEnv(db.dataDir, {
      ...db.overrides,
      REDIS_URL: process.env.REDIS_URL ?? '',
      MQTT_URL: broker.url,
      MQTT_SESSION_EXPIRY_SECONDS: '120',
      // A short lease, so the takeover fits a test: the standby has it within about 4 s.
      AQUAML_MQTT_LEASE_TTL_MS: '3000',
      AQUAML_METRICS_TOKEN: MONITORING_TOKEN,
      LOG_LEVEL: process.env.FAULT_LOG_LEVEL ?? 'error',
    });
    const servers: RunningServer[] = [];
    let device: Awaited<ReturnType<typeof connectAsync>> | undefined;
    try {
      // One after the other: the first takes the lease, the second finds it taken.
      servers.push(await startServer(env, { waitFor: '/ready' }));
      servers.push(await startServer(env, { waitFor: '/ready' }));
      const [first, second] = servers as [RunningServer, RunningServer];
      assert.deepEqual([await leaseHeld(first), await leaseHeld(second)], [1, 0]);

      const api = await connect(second, admin, 'create');
      const topic = await sensorTopic(api, 'ph');
      const client = await connectAsync(broker.url, {
        clientId: `sensor-${process.pid}`,
        clean: false,
        protocolVersion: 4,
        reconnectPeriod: 200,
      });
      device = client;
      const readings = mqttReadings({
        api: () => api,
        device: client,
        topic,
        metric: 'ph',
        first: 6,
        divisor: 1000,
        agoMs: 300_000,
      });
      const { allStored } = readings;
      const send = () => readings.sendAcked();

      for (let i = 0; i < BATCH; i++) await send();
      await allStored('the readings to be stored by the holder');
      // Only the holder took them from the broker.
      assert.equal(await mqttAccepted(first), BATCH);
      assert.equal(await mqttAccepted(second), 0);

      const exited = new Promise((r) => first.process.once('exit', r));
      first.process.kill('SIGKILL');
      await exited;
      servers.shift();
      // Published while no process holds the session: the broker queues them for it.
      for (let i = 0; i < BATCH; i++) await send();
      await waitUntil('the standby to take the lease', async () => (await leaseHeld(second)) === 1);
      await allStored('the readings published during the takeover to be stored');
      assert.ok(
        (await mqttAccepted(second)) >= BATCH,
        'the new holder received the queued readings',
      );
      // And it goes on receiving.
      await send();
      await allStored('one more reading');
    } finally {
      await device?.endAsync(true);
      for (const s of servers) await s.stop();
      await broker.dispose();
      if (process.env.REDIS_URL) {
        await deleteRedisKeys(process.env.REDIS_URL, env.AQUAML_REDIS_PREFIX).catch(() => {});
      }
      await db.drop();
    }
  },
);
