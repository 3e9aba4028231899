import { createServer, type Server } from 'node:net';
import { Aedes, type AuthenticateError, type Client } from 'aedes';

export interface BrokerHooks {
  /** Signs a client in; returns what later publishes of this client are judged by, or undefined. */
  authenticate(username: string | undefined, password: string | undefined): Promise<unknown>;
  /**
   * Takes one published message of a signed-in client. Resolving lets the broker acknowledge it
   * (QoS 1); throwing disconnects the client (not allowed to publish there).
   */
  publish(identity: unknown, topic: string, payload: Buffer): Promise<void>;
}

export interface EmbeddedBroker {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * An in-process MQTT broker (aedes) on a TCP port. Every publish runs through the hooks before the
 * broker acknowledges it, so a QoS 1 PUBACK means the message was taken; clients may not subscribe.
 */
export async function startEmbeddedBroker(
  hooks: BrokerHooks,
  options: { port: number; host: string },
): Promise<EmbeddedBroker> {
  const identities = new WeakMap<Client, unknown>();
  const broker = await Aedes.createBroker({
    authenticate(client, username, password, done) {
      hooks.authenticate(username, password?.toString('utf8')).then(
        (identity) => {
          if (identity === undefined) {
            const err = new Error('Bad user name or password') as AuthenticateError;
            err.returnCode = 4;
            done(err, false);
            return;
          }
          identities.set(client, identity);
          done(null, true);
        },
        (err: Error) => {
          const e = err as AuthenticateError;
          e.returnCode = 3;
          done(e, false);
        },
      );
    },
    authorizePublish(client, packet, done) {
      // The broker's own messages ($SYS) have no client.
      if (!client) return done(null);
      const identity = identities.get(client);
      if (identity === undefined) return done(new Error('not signed in'));
      hooks.publish(identity, packet.topic, packet.payload as Buffer).then(
        () => done(null),
        (err: Error) => done(err),
      );
    },
    authorizeSubscribe(_client, _subscription, done) {
      done(new Error('subscribing is not offered'));
    },
  });
  const server: Server = createServer(broker.handle);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    // The broker's heartbeat timer would keep the process alive after a failed listen.
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw err;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    port,
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
