import { useEffect, useRef } from 'react';
import { request } from './client.ts';

/**
 * Subscribes to a Server-Sent Events path with the session's token (EventSource cannot send an
 * Authorization header, so the stream is read with fetch). Reconnects after a pause when the
 * stream ends or fails; stops when the component goes away. A null path waits.
 */
export function useEvents(
  path: string | null,
  onEvent: (event: string, data: unknown) => void,
  retryMs = 5000,
): void {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    if (!path) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connect = async () => {
      try {
        const res = await request(path, { signal: controller.signal });
        const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let event = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('event:')) event = line.slice(6).trim();
              else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
            }
            if (!data.length) continue;
            try {
              handler.current(event, JSON.parse(data.join('\n')));
            } catch {
              handler.current(event, data.join('\n'));
            }
          }
        }
      } catch {
        // Reconnect below, unless the page went away.
      }
      if (!controller.signal.aborted) timer = setTimeout(() => void connect(), retryMs);
    };
    void connect();
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, [path, retryMs]);
}
