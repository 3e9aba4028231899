/** A validated reading on its way to storage: who sent it, what, when (epoch ms) and the value. */
export interface Reading {
  deviceId: string;
  unitId: string;
  farmId: string;
  metric: string;
  ts: number;
  value: number;
}

/** The device a reading comes from, as its API key (or MQTT sign-in) names it. */
export interface DeviceActor {
  deviceId: string;
  unitId: string;
  farmId: string;
}

/** What a device sends: a metric, a value, optionally a time and a unit of measure. */
export interface ReadingInput {
  metric?: unknown;
  value?: unknown;
  ts?: unknown;
  unit?: unknown;
}

export interface RejectedReading {
  index: number;
  reason: string;
}

export interface IngestResult {
  accepted: number;
  rejected: number;
  errors: RejectedReading[];
}
