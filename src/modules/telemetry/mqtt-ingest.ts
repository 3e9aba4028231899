import { LRUCache } from 'lru-cache';
import { eq } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { devices } from '../../db/schema.ts';
import type { Logger } from '../../logger.ts';
import type { TelemetryIngest } from './ingest.ts';
import type { DeviceActor, ReadingInput } from './reading.ts';

/** Devices publish to aquaml/<farm id>/<unit id>/<device id>/<metric>. */
export const TOPIC_FILTER = 'aquaml/+/+/+/+';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface TopicParts {
  farmId: string;
  unitId: string;
  deviceId: string;
  metric: string;
}

export function parseTopic(topic: string): TopicParts | undefined {
  const parts = topic.split('/');
  if (parts.length !== 5 || parts[0] !== 'aquaml') return undefined;
  const [, farmId, unitId, deviceId, metric] = parts as [string, string, string, string, string];
  if (!UUID.test(farmId) || !UUID.test(unitId) || !UUID.test(deviceId) || !metric) return undefined;
  return {
    farmId: farmId.toLowerCase(),
    unitId: unitId.toLowerCase(),
    deviceId: deviceId.toLowerCase(),
    metric,
  };
}

/** A plain number (`7.2`) or JSON `{"value": 7.2, "ts": "...", "unit": "..."}`. */
export function parsePayload(metric: string, payload: Buffer): ReadingInput | undefined {
  const text = payload.toString('utf8').trim();
  if (text === '' || text.length > 4096) return undefined;
  if (text[0] === '{') {
    try {
      const obj = JSON.parse(text) as Record<string, unknown>;
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return undefined;
      return { metric, value: obj.value, ts: obj.ts, unit: obj.unit };
    } catch {
      return undefined;
    }
  }
  // Number('') is 0 and Number('0x10') is 16: accept decimal notation only.
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) {
    return { metric, value: Number.NaN };
  }
  return { metric, value: Number(text) };
}

export interface DeviceKeys {
  authenticateDevice(key: string): Promise<DeviceActor | undefined>;
}

/**
 * The MQTT door. On the embedded broker a client signs in as its device (user name = device id,
 * password = its API key) and may publish only under its own topic. From an external broker the
 * sign-in is the broker's business, so each topic's device must exist, be enabled and sit in the
 * farm and unit the topic names.
 */
export class MqttIngest {
  private readonly known = new LRUCache<string, DeviceActor | false>({
    max: 100_000,
    ttl: 60_000,
  });

  constructor(
    private readonly db: Database,
    private readonly keys: DeviceKeys,
    private readonly ingest: TelemetryIngest,
    private readonly logger: Logger,
  ) {}

  async authenticate(
    username: string | undefined,
    password: string | undefined,
  ): Promise<DeviceActor | undefined> {
    if (!username || !password) return undefined;
    const actor = await this.keys.authenticateDevice(password);
    return actor && actor.deviceId === username.toLowerCase() ? actor : undefined;
  }

  /** A publish of a signed-in device on the embedded broker; throws for a topic not its own. */
  async fromDevice(device: DeviceActor, topic: string, payload: Buffer): Promise<void> {
    const parts = parseTopic(topic);
    if (
      !parts ||
      parts.deviceId !== device.deviceId ||
      parts.unitId !== device.unitId ||
      parts.farmId !== device.farmId
    ) {
      this.ingest.refuse('mqtt', 'foreign_topic');
      throw new Error(`device ${device.deviceId} may not publish to ${topic}`);
    }
    await this.take(device, parts.metric, payload);
  }

  /** A message from the external broker; refused ones are dropped (and counted). */
  async fromBroker(topic: string, payload: Buffer): Promise<void> {
    const parts = parseTopic(topic);
    if (!parts) {
      this.ingest.refuse('mqtt', 'bad_topic');
      return;
    }
    const device = await this.device(parts.deviceId);
    if (!device || device.unitId !== parts.unitId || device.farmId !== parts.farmId) {
      this.ingest.refuse('mqtt', 'unknown_device');
      return;
    }
    await this.take(device, parts.metric, payload);
  }

  private async take(device: DeviceActor, metric: string, payload: Buffer): Promise<void> {
    const input = parsePayload(metric, payload);
    if (!input) {
      this.ingest.refuse('mqtt', 'bad_payload');
      return;
    }
    const result = await this.ingest.ingest(device, [input], 'mqtt');
    if (result.rejected) {
      this.logger.debug(
        { device: device.deviceId, metric, reason: result.errors[0]?.reason },
        'reading refused',
      );
    }
  }

  private async device(id: string): Promise<DeviceActor | undefined> {
    const cached = this.known.get(id);
    if (cached !== undefined) return cached || undefined;
    const [row] = await this.db
      .select({
        deviceId: devices.id,
        unitId: devices.unitId,
        farmId: devices.farmId,
        disabledAt: devices.disabledAt,
      })
      .from(devices)
      .where(eq(devices.id, id));
    const actor =
      row && !row.disabledAt
        ? { deviceId: row.deviceId, unitId: row.unitId, farmId: row.farmId }
        : undefined;
    this.known.set(id, actor ?? false);
    return actor;
  }
}
