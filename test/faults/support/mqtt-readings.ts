import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import type { RunningServer } from '../../../bench/support/server.ts';
import { MONITORING_HEADERS } from '../../support/app.ts';
import type { Api } from './api.ts';
import { sleep, waitUntil } from './services.ts';

/** A number a server's /metrics shows for the first line matching `line` (0 when absent). */
export async function metricValue(server: RunningServer, line: RegExp): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`, { headers: MONITORING_HEADERS })).text();
  return Number(line.exec(text)?.[1] ?? 0);
}

/** 1 when the server holds the MQTT ingest lease, else 0. */
export const leaseHeld = (server: RunningServer) =>
  metricValue(server, /^aquaml_mqtt_ingest_lease_held (\d+)$/m);

/** The MQTT topic of `metric` from the first sensor of the api's unit. */
export async function sensorTopic(api: Api, metric: string): Promise<string> {
  const unit = (await (await api.request(`/api/v1/units/${api.unitId}`)).json()) as {
    farm_id: string;
  };
  const devices = (await (await api.request(`/api/v1/units/${api.unitId}/devices`)).json()) as {
    items: { id: string }[];
  };
  return `aquaml/${unit.farm_id}/${api.unitId}/${devices.items[0]!.id}/${metric}`;
}

/**
 * Readings of one metric a device publishes over MQTT with QoS 1, each with its own value and
 * time, and what the API has stored of them: the ledger the broker and lease fault tests check.
 */
export function mqttReadings(o: {
  /** The API to read the stored readings from (a getter: a test may restart the server). */
  api: () => Api;
  device: MqttClient;
  topic: string;
  metric: string;
  /** The first reading's value; the i-th is first + i / divisor (exact in decimal, unlike i * step). */
  first: number;
  divisor: number;
  /** How far in the past the first reading's time is (each next one is a second later). */
  agoMs: number;
}) {
  const base = Date.now() - o.agoMs;
  const valueOf = (i: number) => String(o.first + i / o.divisor);
  let n = 0;
  const payload = () => {
    const i = n++;
    return JSON.stringify({
      value: Number(valueOf(i)),
      ts: new Date(base + i * 1000).toISOString(),
    });
  };
  /** The stored values (as the CSV export writes them), in time order. */
  const stored = async (): Promise<string[]> => {
    const api = o.api();
    const csv = await (
      await api.request(
        `/api/v1/units/${api.unitId}/readings.csv?metric=${o.metric}&from=${new Date(base - 1000).toISOString()}`,
      )
    ).text();
    return csv
      .trim()
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((r) => r.split(',')[2]!);
  };
  return {
    get sent(): number {
      return n;
    },
    stored,
    /** Publishes the next reading (the client queues it while it is offline). */
    send(): void {
      o.device.publish(o.topic, payload(), { qos: 1 });
    },
    /** Publishes the next reading and waits for the broker's PUBACK. */
    async sendAcked(): Promise<void> {
      await o.device.publishAsync(o.topic, payload(), { qos: 1 });
    },
    /** Waits until every reading sent so far is stored, then checks none is stored twice. */
    async allStored(what: string, timeoutMs = 60_000): Promise<void> {
      const sent = Array.from({ length: n }, (_, i) => valueOf(i));
      await waitUntil(
        what,
        async () => {
          const have = new Set(await stored());
          return sent.every((v) => have.has(v));
        },
        timeoutMs,
        250,
      ).catch(async (err: Error) => {
        const have = new Set(await stored());
        const missing = sent.filter((v) => !have.has(v));
        throw new Error(`${err.message}: missing ${missing.length} of ${n}: ${missing.join(' ')}`);
      });
      // Give a redelivery that would store a reading twice the time to do it.
      await sleep(1000);
      const values = await stored();
      assert.equal(values.length, n, 'each reading stored once');
      assert.deepEqual(new Set(values), new Set(sent));
    },
  };
}
