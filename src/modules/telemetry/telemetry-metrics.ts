import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Prometheus series of the telemetry path, registered on the process's registry. */
export class TelemetryMetrics {
  readonly accepted: Counter<'door'>;
  readonly rejected: Counter<'door' | 'reason'>;
  readonly stored: Counter;
  readonly written: Counter;
  readonly flushSize: Histogram;
  readonly alertLatency: Histogram<'kind'>;
  readonly ingestLeaseHeld: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.accepted = new Counter({
      name: 'aquaml_telemetry_readings_accepted_total',
      help: 'Readings accepted for storage, by door (http, mqtt)',
      labelNames: ['door'],
      registers,
    });
    this.rejected = new Counter({
      name: 'aquaml_telemetry_readings_rejected_total',
      help: 'Readings refused by validation, by door and reason',
      labelNames: ['door', 'reason'],
      registers,
    });
    this.stored = new Counter({
      name: 'aquaml_telemetry_readings_stored_total',
      help: 'New readings written (duplicates of a stored device, metric and time not counted)',
      registers,
    });
    this.written = new Counter({
      name: 'aquaml_telemetry_readings_written_total',
      help: 'Readings this process put into inserts (new and repeated)',
      registers,
    });
    this.flushSize = new Histogram({
      name: 'aquaml_telemetry_insert_batch_size',
      help: 'Readings per multi-row insert',
      buckets: [1, 10, 50, 100, 500, 1000, 2000, 5000, 10000],
      registers,
    });
    this.alertLatency = new Histogram({
      name: 'aquaml_alert_open_latency_seconds',
      help: 'From the arrival of the reading that trips a rule to its alert being stored',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers,
    });
    this.ingestLeaseHeld = new Gauge({
      name: 'aquaml_mqtt_ingest_lease_held',
      help: '1 while this process holds the MQTT ingest lease (it is the one subscribed to the external broker), else 0',
      registers,
    });
  }
}
