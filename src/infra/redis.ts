import { Redis, type RedisOptions } from 'ioredis';

/**
 * A Redis connection. Blocking readers (stream consumers, BullMQ workers) need their own
 * connection with `maxRetriesPerRequest: null`, or a long block fails their commands.
 */
export function connectRedis(
  url: string,
  options: RedisOptions & { blocking?: boolean } = {},
): Redis {
  const { blocking, ...rest } = options;
  const redis = new Redis(url, {
    lazyConnect: false,
    enableReadyCheck: true,
    ...(blocking ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 3 }),
    ...rest,
  });
  // Connection errors surface through commands and health checks; an unhandled 'error' event would crash.
  redis.on('error', () => {});
  if (!blocking && rest.enableOfflineQueue === undefined) {
    // Commands wait for the first connection (start-up), but once connected a command during an
    // outage fails at once instead of queueing through reconnect attempts: callers degrade
    // (cache miss, 503 + Retry-After) in milliseconds rather than holding every request a
    // second or more. ioredis reads this option at each command.
    redis.once('ready', () => {
      redis.options.enableOfflineQueue = false;
    });
  }
  return redis;
}
