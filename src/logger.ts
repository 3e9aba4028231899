import pino, { type Logger } from 'pino';
import type { LogLevel } from './config.ts';
import { traceIds } from './observability/tracing.ts';

export type { Logger };

/** Paths scrubbed from every log line: credentials must never reach the logs. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'password',
  '*.password',
  'refresh_token',
  '*.refresh_token',
  'access_token',
  '*.access_token',
  'token',
  '*.token',
  'secret',
  '*.secret',
];

/** JSON lines to stdout, or to `destination` (tests capture the log there). */
export function createLogger(
  level: LogLevel,
  name = 'aquaml',
  destination?: pino.DestinationStream,
): Logger {
  const options = {
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // trace_id and span_id of the active span (tracing on), so a log line leads to its trace.
    mixin: traceIds,
  };
  return destination ? pino(options, destination) : pino(options);
}
