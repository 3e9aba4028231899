import { connect, type MqttClient } from 'mqtt';
import type { Logger } from '../../logger.ts';

export interface SubscriberOptions {
  url: string;
  /** Topic filter, subscribed with QoS 1. */
  topic: string;
  /** The same on every connection, of whichever process subscribes: it names one session. */
  clientId: string;
  /** The broker keeps the session, and queues QoS 1 messages for it, this long while it is away. */
  sessionExpirySeconds: number;
}

export interface Subscriber {
  /** Resolves on the first subscription (the client keeps trying until then). */
  subscribed: Promise<void>;
  /** Disconnects, keeping the session: the broker queues for it until a subscriber is back. */
  close(): Promise<void>;
}

/**
 * Subscribes to an external broker on a persistent session (MQTT 5, clean start off, a session
 * expiry) with QoS 1 and acknowledges each message only after `handle` resolved (`handle` resolves
 * for messages it refuses as invalid too; it throws only when the message could not be taken,
 * e.g. the stream is down, and then no PUBACK is sent). Messages published while no subscriber is
 * connected wait in the session and arrive on the next connection with the same client id.
 */
export function startSubscriber(
  options: SubscriberOptions,
  handle: (topic: string, payload: Buffer) => Promise<void>,
  logger: Logger,
): Subscriber {
  const client: MqttClient = connect(options.url, {
    clientId: options.clientId,
    protocolVersion: 5,
    clean: false,
    properties: { sessionExpiryInterval: options.sessionExpirySeconds },
    reconnectPeriod: 1_000,
    connectTimeout: 10_000,
    // Subscribed below on every connection instead.
    resubscribe: false,
  });
  let redelivery: NodeJS.Timeout | undefined;
  // Set before any packet arrives: the session's queued messages come right after CONNACK, and
  // the default handler would acknowledge them unread.
  client.handleMessage = (packet, callback) => {
    handle(packet.topic, packet.payload as Buffer).then(
      () => callback(),
      (err: unknown) => {
        // No PUBACK. A broker sends an unacknowledged message again only on a new connection,
        // so drop this one shortly (once), and the session redelivers it on the reconnect.
        logger.warn({ err, topic: packet.topic }, 'MQTT message not taken');
        callback(err instanceof Error ? err : new Error(String(err)));
        redelivery ??= setTimeout(() => {
          redelivery = undefined;
          client.stream?.destroy();
        }, 1_000);
      },
    );
  };
  client.on('error', (err) => logger.warn({ err }, 'MQTT subscriber error'));

  let ready: () => void = () => {};
  const subscribed = new Promise<void>((resolve) => (ready = resolve));
  client.on('connect', (connack) => {
    logger.info(
      { clientId: options.clientId, sessionPresent: connack.sessionPresent },
      'connected to the MQTT broker',
    );
    // Again on a session the broker kept too (rh 1: no retained messages for a subscription
    // that already exists): a broker that lost or mangled it must not leave the session deaf.
    client.subscribeAsync(options.topic, { qos: 1, rh: 1 }).then(
      () => ready(),
      (err: unknown) => logger.warn({ err, topic: options.topic }, 'MQTT subscribe failed'),
    );
  });

  return {
    subscribed,
    async close() {
      clearTimeout(redelivery);
      // Forced: no more PUBACKs from here, what is not yet acknowledged is redelivered to the
      // next holder. The DISCONNECT keeps the session (its expiry is the one set at CONNECT).
      await client.endAsync(true);
    },
  };
}
