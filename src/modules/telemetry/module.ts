import type { AppConfig } from '../../config.ts';
import type { Database } from '../../db/client.ts';
import type { EventBus } from '../../infra/bus/types.ts';
import { type EmbeddedBroker, startEmbeddedBroker } from '../../infra/mqtt/broker.ts';
import type { Lease } from '../../infra/lease/types.ts';
import { type Subscriber, startSubscriber } from '../../infra/mqtt/subscriber.ts';
import { keepLease } from '../../infra/lease/keeper.ts';
import type { Logger } from '../../logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { AlertService } from '../alerts/service.ts';
import { WebhookNotifier } from '../alerts/webhooks.ts';
import { RuleEngine } from '../rules/engine.ts';
import { SilenceWatch } from '../rules/silence.ts';
import { loadThresholds } from '../rules/thresholds.ts';
import { TelemetryIngest } from './ingest.ts';
import { type DeviceKeys, MqttIngest, TOPIC_FILTER } from './mqtt-ingest.ts';
import { TelemetryPipeline } from './pipeline.ts';
import type { DeviceActor } from './reading.ts';
import { scheduleRetention } from './retention.ts';
import { TelemetryMetrics } from './telemetry-metrics.ts';

const DAY_MS = 86_400_000;
/** How long start-up waits for the external broker's subscription before it goes on without. */
const SUBSCRIBE_WAIT_MS = 10_000;

export interface TelemetryModule {
  readonly metrics: TelemetryMetrics;
  readonly pipeline: TelemetryPipeline;
  readonly ingest: TelemetryIngest;
  readonly mqtt: MqttIngest;
  readonly rules: RuleEngine;
  readonly silence: SilenceWatch;
  readonly alerts: AlertService;
  readonly webhooks: WebhookNotifier;
  /** The port of the embedded MQTT broker, when this process runs one. */
  mqttPort(): number | undefined;
  start(parts: { writer: boolean; rules: boolean; mqtt: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export interface TelemetryDeps {
  config: AppConfig;
  db: Database;
  bus: EventBus;
  metrics: Metrics;
  logger: Logger;
  devices: DeviceKeys;
  /**
   * With an external broker (MQTT_URL): makes the lease whose holder, one process at a time,
   * holds the broker's ingest session (processes without it stand by). Called once, by a process
   * that takes MQTT readings; stopping the module closes it.
   */
  ingestLease?: () => Lease;
}

/** Builds the water-quality path: doors, pipeline, rules, alerts, notifications. */
export function createTelemetry(deps: TelemetryDeps): TelemetryModule {
  const { config, db, bus } = deps;
  const settings = config.telemetry;
  const logger = deps.logger.child({ component: 'telemetry' });
  const metrics = new TelemetryMetrics(deps.metrics.registry);
  const pipeline = new TelemetryPipeline(db, bus, metrics, logger, {
    insertBatch: settings.insertBatch,
    flushMs: settings.flushMs,
    insertConcurrency: settings.insertConcurrency,
  });
  const ingest = new TelemetryIngest(pipeline, metrics, {
    maxFutureSkewMs: settings.maxFutureSkewMs,
    maxAgeMs: settings.rawRetentionDays * DAY_MS,
  });
  const mqtt = new MqttIngest(db, deps.devices, ingest, logger);
  const delivered: { record?: (url: string, event: string, alertId: string) => void } = {};
  const webhooks = new WebhookNotifier(
    {
      urls: settings.webhookUrls,
      secret: settings.webhookSecret ?? '',
      attempts: settings.webhookAttempts,
      backoffMs: 1_000,
      timeoutMs: 10_000,
    },
    logger,
    (url, event, alertId) => delivered.record?.(url, event, alertId),
  );
  const alerts = new AlertService(db, bus, webhooks, logger);
  delivered.record = (url, event, alertId) => void alerts.recordDelivery(alertId, url, event);
  const rules = new RuleEngine(
    (unitId) => loadThresholds(db, unitId),
    alerts,
    logger,
    {
      minDurationMs: settings.ruleMinDurationMs,
      oxygenFallPerHour: settings.oxygenFallPerHour,
      rateWindowMs: settings.rateWindowMs,
      ammoniaPairingMs: 60 * 60_000,
      thresholdsTtlMs: 30_000,
    },
    (alert, reading) =>
      metrics.alertLatency.observe({ kind: alert.kind }, (Date.now() - reading.arrivedAt) / 1000),
  );
  const silence = new SilenceWatch(db, alerts, logger, settings.deviceSilentMs);

  const stops: (() => Promise<void> | void)[] = [];
  let broker: EmbeddedBroker | undefined;

  return {
    metrics,
    pipeline,
    ingest,
    mqtt,
    rules,
    silence,
    alerts,
    webhooks,
    mqttPort: () => broker?.port,
    async start(parts) {
      if (parts.rules) {
        await rules.resume();
        await silence.resume();
        stops.push(
          pipeline.onReadings((readings) => {
            rules.observe(readings);
            const now = Date.now();
            for (const r of readings) silence.heard(r.deviceId, now);
          }),
        );
        silence.start(Math.min(60_000, Math.max(1_000, settings.deviceSilentMs / 4)));
        stops.push(() => silence.stop());
        stops.push(scheduleRetention(db, settings, logger));
      }
      await pipeline.start({ write: parts.writer });
      stops.push(() => pipeline.stop());
      if (parts.mqtt) {
        if (config.mqttUrl) {
          stops.push(await subscribeWhileLeased(config, mqtt, metrics, logger, deps.ingestLease));
        } else {
          try {
            broker = await startEmbeddedBroker(
              {
                authenticate: (username, password) => mqtt.authenticate(username, password),
                publish: (identity, topic, payload) =>
                  mqtt.fromDevice(identity as DeviceActor, topic, payload),
              },
              { port: config.mqttPort, host: settings.mqttHost },
            );
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code !== 'EADDRINUSE' && code !== 'EACCES') throw err;
            // Another broker (often Mosquitto) holds the port: the platform and its HTTP door
            // still run; the line says how to use that broker or another port instead.
            logger.error(
              `MQTT_PORT ${config.mqttPort} on ${settings.mqttHost} is not free (another MQTT broker?): the embedded broker is off. Set MQTT_URL=mqtt://127.0.0.1:${config.mqttPort} to take readings from that broker, or MQTT_PORT to another port`,
            );
          }
          if (broker) {
            const b = broker;
            stops.push(() => b.close());
            logger.info({ port: broker.port }, 'embedded MQTT broker listening');
          }
        }
      }
      stops.push(() => webhooks.drain());
    },
    async stop() {
      for (const stop of stops.splice(0).reverse()) await stop();
      await rules.settle();
    },
  };
}

/**
 * Subscribes to the external broker while this process holds the ingest lease, and stands by
 * otherwise: one persistent session, one client id, one holder at a time (a second connection with
 * the same id would throw the first off). Returns the stop.
 */
async function subscribeWhileLeased(
  config: AppConfig,
  mqtt: MqttIngest,
  metrics: TelemetryMetrics,
  logger: Logger,
  makeLease: (() => Lease) | undefined,
): Promise<() => Promise<void>> {
  if (!makeLease) throw new Error('an external MQTT broker (MQTT_URL) needs an ingest lease');
  const lease = makeLease();
  const settings = config.telemetry;
  const url = config.mqttUrl!;
  const clientId = settings.mqttClientId;
  let subscriber: Subscriber | undefined;
  let stopping = false;
  const keeper = await keepLease(lease, {
    // Renewed three times per time to live: a holder cut off stops well before it could expire.
    everyMs: Math.floor(settings.mqttLeaseTtlMs / 3),
    logger,
    async onChange(held) {
      metrics.ingestLeaseHeld.set(held ? 1 : 0);
      if (held) {
        logger.info(
          { lease: lease.kind, clientId, url },
          'took the MQTT ingest lease: subscribing to the broker',
        );
        subscriber = startSubscriber(
          {
            url,
            topic: TOPIC_FILTER,
            clientId,
            sessionExpirySeconds: settings.mqttSessionExpirySeconds,
          },
          (topic, payload) => mqtt.fromBroker(topic, payload),
          logger,
        );
      } else {
        const closing = subscriber;
        subscriber = undefined;
        await closing?.close();
        const line = 'disconnected from the MQTT broker; the session stays with it';
        if (stopping) logger.info({ lease: lease.kind, clientId }, `stopping: ${line}`);
        else logger.warn({ lease: lease.kind, clientId }, `lost the MQTT ingest lease: ${line}`);
      }
    },
  });
  if (subscriber) {
    // Start-up waits (a while) for the subscription, so a process that is up is listening.
    let waited: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      waited = setTimeout(() => resolve(true), SUBSCRIBE_WAIT_MS);
    });
    if (await Promise.race([subscriber.subscribed.then(() => false), late])) {
      logger.warn({ url }, 'not subscribed to the MQTT broker yet; still trying');
    }
    clearTimeout(waited);
  } else {
    logger.info(
      { lease: lease.kind, clientId },
      'another process holds the MQTT ingest lease: standing by',
    );
  }
  return async () => {
    stopping = true;
    await keeper.stop();
    metrics.ingestLeaseHeld.set(0);
  };
}
