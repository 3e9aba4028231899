import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../logger.ts';
import { DependencyUnavailableError } from '../errors.ts';
import { connectRedis } from '../redis.ts';
import type { BusHandler, EventBus, SubscribeOptions } from './types.ts';

/** Streams are trimmed to about this many entries; the bus carries notifications, not history. */
const MAX_LEN = 10_000;
const BLOCK_MS = 1_000;

interface Reader {
  stop: boolean;
  done: Promise<void>;
  connection: Redis;
}

/**
 * The scale-out bus on Redis Streams: broadcast subscribers read from the stream's end with XREAD;
 * group subscribers share work through a consumer group and acknowledge after their handler succeeds,
 * so a message whose consumer died is claimed again by another.
 */
export class RedisStreamsEventBus implements EventBus {
  readonly kind = 'redis-streams' as const;
  private readonly publisher: Redis;
  private readonly readers = new Set<Reader>();
  private readonly consumer = `${process.pid}-${randomUUID().slice(0, 8)}`;
  /** Stream keys are `<prefix>:bus:<topic>`. */
  private readonly keyPrefix: string;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    prefix: string,
  ) {
    this.publisher = connectRedis(url);
    this.keyPrefix = `${prefix}:bus:`;
  }

  async publish<T>(topic: string, message: T): Promise<void> {
    try {
      await this.publisher.xadd(
        this.keyPrefix + topic,
        'MAXLEN',
        '~',
        MAX_LEN,
        '*',
        'm',
        JSON.stringify(message),
      );
    } catch (err) {
      throw new DependencyUnavailableError('redis', `publishing to ${topic}`, { cause: err });
    }
  }

  async subscribe<T>(
    topic: string,
    handler: BusHandler<T>,
    options: SubscribeOptions = {},
  ): Promise<() => void> {
    const stream = this.keyPrefix + topic;
    const connection = connectRedis(this.url, { blocking: true });
    const reader: Reader = { stop: false, done: Promise.resolve(), connection };
    if (options.group) {
      await connection
        .xgroup('CREATE', stream, options.group, '$', 'MKSTREAM')
        .catch((err: Error) => {
          if (!err.message.includes('BUSYGROUP')) throw err;
        });
      reader.done = this.groupLoop(
        reader,
        stream,
        options.group,
        handler as BusHandler,
        Math.max(1, options.concurrency ?? 1),
      );
    } else {
      // Start from the current end so a new subscriber does not replay old notifications.
      const last = (await connection.xrevrange(stream, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
      reader.done = this.broadcastLoop(reader, stream, last, handler as BusHandler);
    }
    this.readers.add(reader);
    return () => {
      reader.stop = true;
      this.readers.delete(reader);
      void reader.done.finally(() => connection.disconnect());
    };
  }

  private async broadcastLoop(
    reader: Reader,
    stream: string,
    from: string,
    handler: BusHandler,
  ): Promise<void> {
    let last = from;
    while (!reader.stop) {
      try {
        const res = await reader.connection.xread(
          'COUNT',
          100,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          stream,
          last,
        );
        for (const [, entries] of res ?? []) {
          for (const [id, fields] of entries) {
            last = id;
            await this.handle(stream, handler, fields);
          }
        }
      } catch (err) {
        if (reader.stop) return;
        this.logger.warn({ err, stream }, 'event bus read failed; retrying');
        await sleep(500);
      }
    }
  }

  private async groupLoop(
    reader: Reader,
    stream: string,
    group: string,
    handler: BusHandler,
    concurrency: number,
  ): Promise<void> {
    let lastClaim = 0;
    const handleAll = async (entries: [string, string[]][]) => {
      for (let i = 0; i < entries.length; i += concurrency) {
        await Promise.all(
          entries.slice(i, i + concurrency).map(async ([id, fields]) => {
            if (fields && (await this.handle(stream, handler, fields)))
              await reader.connection.xack(stream, group, id);
          }),
        );
      }
    };
    while (!reader.stop) {
      try {
        // Messages a dead consumer took but never acknowledged go to a live one after 30 s.
        if (Date.now() - lastClaim > 10_000) {
          lastClaim = Date.now();
          const [, claimed] = (await reader.connection.xautoclaim(
            stream,
            group,
            this.consumer,
            30_000,
            '0-0',
            'COUNT',
            100,
          )) as [string, [string, string[]][]];
          await handleAll(claimed ?? []);
        }
        const res = (await reader.connection.xreadgroup(
          'GROUP',
          group,
          this.consumer,
          'COUNT',
          100,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          stream,
          '>',
        )) as [string, [string, string[]][]][] | null;
        for (const [, entries] of res ?? []) await handleAll(entries);
      } catch (err) {
        if (reader.stop) return;
        if (err instanceof Error && err.message.includes('NOGROUP')) {
          // Redis came back without the group (a restart without persistence, a flush): make it
          // again from the stream's start, so what was published since is read, not skipped.
          await reader.connection
            .xgroup('CREATE', stream, group, '0', 'MKSTREAM')
            .then(() => this.logger.warn({ stream, group }, 'event bus group was gone; made again'))
            .catch(() => sleep(500));
          continue;
        }
        this.logger.warn({ err, stream }, 'event bus group read failed; retrying');
        await sleep(500);
      }
    }
  }

  private async handle(stream: string, handler: BusHandler, fields: string[]): Promise<boolean> {
    try {
      await handler(JSON.parse(fields[1] ?? 'null'));
      return true;
    } catch (err) {
      this.logger.error({ err, stream }, 'event handler failed');
      return false;
    }
  }

  async ping(): Promise<void> {
    await this.publisher.ping();
  }

  async close(): Promise<void> {
    for (const r of this.readers) r.stop = true;
    await Promise.all([...this.readers].map((r) => r.done));
    for (const r of this.readers) r.connection.disconnect();
    this.readers.clear();
    this.publisher.disconnect();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
