import { Writable } from 'node:stream';

export interface LogLine {
  level: number;
  msg: string;
}

/** A pino destination that keeps each JSON log line, for tests that assert what was logged. */
export function logLines(): { lines: LogLine[]; sink: Writable } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, sink };
}
