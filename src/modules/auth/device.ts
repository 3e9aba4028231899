import type { DeviceKind } from '../../db/schema.ts';

/** Device API keys start with this, so the authenticator knows where to look them up. */
export const DEVICE_KEY_PREFIX = 'aqd_';

/** Who a device API key speaks for: one device in one unit of one farm. */
export interface DeviceActor {
  deviceId: string;
  unitId: string;
  farmId: string;
  kind: DeviceKind;
  name: string;
}

/** Resolves a device key (HTTP X-API-Key, MQTT password); undefined when unknown, disabled or rotated. */
export interface DeviceKeyVerifier {
  authenticateDevice(key: string): Promise<DeviceActor | undefined>;
}
