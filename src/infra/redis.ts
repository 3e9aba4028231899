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
  return redis;
}
