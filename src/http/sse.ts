import type { FastifyReply, FastifyRequest } from 'fastify';

export interface SseChannel {
  send(event: string, data: unknown): void;
  /** Resolves when the client went away. */
  readonly closed: Promise<void>;
}

/**
 * Turns a request into a Server-Sent Events stream on the raw response (Fastify steps aside), with
 * a comment line every `heartbeatMs` so proxies keep the connection open.
 */
export function openSse(
  request: FastifyRequest,
  reply: FastifyReply,
  heartbeatMs = 15_000,
): SseChannel {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': String(request.id),
  });
  res.write(': connected\n\n');
  let open = true;
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
  heartbeat.unref();
  const closed = new Promise<void>((resolve) => {
    const done = () => {
      if (!open) return;
      open = false;
      clearInterval(heartbeat);
      resolve();
    };
    request.raw.on('close', done);
    res.on('close', done);
    res.on('error', done);
  });
  return {
    send(event, data) {
      if (open) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    closed,
  };
}
