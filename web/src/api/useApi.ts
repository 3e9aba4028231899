import { useCallback, useEffect, useRef, useState } from 'react';
import { api, type RequestOptions } from './client.ts';

export interface ApiState<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * GETs a path and keeps the answer; with `intervalMs` it polls (live pages) without flashing the
 * loading state again. A null path waits.
 */
export function useApi<T>(
  path: string | null,
  query?: RequestOptions['query'],
  intervalMs?: number,
): ApiState<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error>();
  const [loading, setLoading] = useState(path !== null);
  const [tick, setTick] = useState(0);
  const key = path === null ? null : JSON.stringify([path, query]);
  const shown = useRef<string | null>(null);

  useEffect(() => {
    if (key === null || path === null) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const first = shown.current !== key;
    if (first) {
      shown.current = key;
      setLoading(true);
    }
    const run = async () => {
      try {
        const value = await api<T>(path, { query, signal: controller.signal });
        setData(value);
        setError(undefined);
      } catch (err) {
        if (controller.signal.aborted) return;
        setError(err as Error);
      } finally {
        if (!controller.signal.aborted) {
          setLoading(false);
          if (intervalMs) timer = setTimeout(run, intervalMs);
        }
      }
    };
    void run();
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
    // `key` stands for path and query.
  }, [key, tick, intervalMs]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}
