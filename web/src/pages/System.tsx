import Box from '@mui/material/Box';
import Chip from '@mui/material/Chip';
import Paper from '@mui/material/Paper';
import Typography from '@mui/material/Typography';
import { useEffect, useRef, useState } from 'react';
import { ApiError, api } from '../api/client.ts';
import type { HealthDetailed, Performance } from '../api/types.ts';
import { useApi } from '../api/useApi.ts';
import { LineChart, type Series } from '../components/LineChart.tsx';
import { ErrorState, Loading, PageTitle, Remote } from '../components/states.tsx';
import { duration, ms, num, pct } from '../format.ts';
import { parsePrometheus, windowFromMetrics, type MetricsWindow } from './system-metrics.ts';

const POLL_MS = 5000;
const KEEP = 60;

interface Sample extends MetricsWindow {
  t: number;
}

/**
 * Live service figures. Latency, throughput and error rate come from /api/v1/metrics/performance
 * when the server has it, else from two scrapes of /metrics (the difference of the histograms, so
 * a window and not an average since start). Both need the admin's token once /metrics is guarded.
 */
function useLiveFigures(): { samples: Sample[]; error?: Error; source: string } {
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState<Error>();
  const [source, setSource] = useState('');
  const previous = useRef<ReturnType<typeof parsePrometheus> | null>(null);
  const perfMissing = useRef(false);

  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout>;
    const tick = async () => {
      try {
        const text = await api<string>('/metrics');
        const now = parsePrometheus(text);
        let sample: MetricsWindow | undefined;
        if (previous.current) sample = windowFromMetrics(previous.current, now);
        previous.current = now;
        if (!perfMissing.current) {
          try {
            const perf = await api<Performance>('/api/v1/metrics/performance');
            sample = {
              ...(sample ?? windowFromMetrics(now, now)),
              p50: perf.latency_p50_ms,
              p95: perf.latency_p95_ms,
              p99: perf.latency_p99_ms,
              throughput: perf.throughput_rps,
              errorRate: perf.error_rate,
            };
            setSource('/api/v1/metrics/performance');
          } catch (err) {
            if (err instanceof ApiError && err.status === 404) perfMissing.current = true;
            else throw err;
          }
        }
        if (perfMissing.current) setSource('/metrics (window between two scrapes)');
        if (sample && !stop)
          setSamples((s) => [...s.slice(-KEEP + 1), { ...sample!, t: Date.now() }]);
        setError(undefined);
      } catch (err) {
        if (!stop) setError(err as Error);
      } finally {
        if (!stop) timer = setTimeout(tick, POLL_MS);
      }
    };
    void tick();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, []);
  return { samples, error, source };
}

function Figure({ label, value }: { label: string; value: string }) {
  return (
    <Paper sx={{ p: 2 }}>
      <Typography variant="body2" color="text.secondary">
        {label}
      </Typography>
      <Typography variant="h5" component="p">
        {value}
      </Typography>
    </Paper>
  );
}

export default function System() {
  const live = useLiveFigures();
  const health = useApi<HealthDetailed>('/health/detailed', undefined, 10_000);
  const serving = useApi<{
    loaded: {
      model: string;
      version: number;
      queue_depth: number;
      in_flight: number;
      max_batch_size: number;
    }[];
  }>('/api/v1/models/health', undefined, POLL_MS);
  const last = live.samples[live.samples.length - 1];
  const queueDepth = serving.data?.loaded.reduce((s, l) => s + l.queue_depth, 0);
  const series = (key: 'p50' | 'p95' | 'p99', colour: string): Series => ({
    name: key,
    colour,
    points: live.samples
      .filter((s) => s[key] !== null)
      .map((s) => ({ t: s.t, v: s[key] as number })),
  });

  return (
    <>
      <PageTitle>System</PageTitle>
      {live.error ? <ErrorState error={live.error} /> : null}
      {!last && !live.error ? <Loading label="Measuring (two samples needed)" /> : null}
      <Box
        sx={{
          display: 'grid',
          gap: 2,
          gridTemplateColumns: { xs: '1fr 1fr', md: 'repeat(4, 1fr)' },
          mb: 3,
        }}
      >
        <Figure label="Latency p50" value={ms(last?.p50)} />
        <Figure label="Latency p95" value={ms(last?.p95)} />
        <Figure label="Latency p99" value={ms(last?.p99)} />
        <Figure label="Throughput" value={last ? `${num(last.throughput, 1)} req/s` : '—'} />
        <Figure label="Error rate" value={pct(last?.errorRate, 2)} />
        <Figure
          label="Batcher queue depth"
          value={queueDepth === undefined ? '—' : String(queueDepth)}
        />
        <Figure label="Cache hit ratio" value={pct(last?.cacheHitRatio)} />
        <Figure label="Uptime" value={health.data ? duration(health.data.uptime_s) : '—'} />
      </Box>
      <Paper sx={{ p: 2, mb: 3 }}>
        <Typography variant="h6" component="h2">
          HTTP latency (ms)
        </Typography>
        <Typography variant="caption" color="text.secondary">
          Source: {live.source || '…'}; every {POLL_MS / 1000} s
        </Typography>
        <LineChart
          label="HTTP latency"
          unit=" ms"
          series={[series('p50', '#0b5e7a'), series('p95', '#ef6c00'), series('p99', '#c62828')]}
        />
      </Paper>
      <Paper sx={{ p: 2 }}>
        <Typography variant="h6" component="h2" sx={{ mb: 1 }}>
          Dependencies
        </Typography>
        <Remote state={health}>
          {(h) => (
            <Box component="ul" sx={{ listStyle: 'none', p: 0, m: 0, display: 'grid', gap: 1 }}>
              {Object.entries(h.components).map(([name, c]) => (
                <Box
                  component="li"
                  key={name}
                  sx={{ display: 'flex', gap: 1, alignItems: 'center', flexWrap: 'wrap' }}
                >
                  <Chip
                    size="small"
                    label={c.status}
                    color={
                      c.status === 'ok' ? 'success' : c.status === 'degraded' ? 'warning' : 'error'
                    }
                  />
                  <strong>{name.replaceAll('_', ' ')}</strong>
                  <span>{ms(c.latency_ms)}</span>
                  {c.error ? (
                    <Typography color="error" variant="body2">
                      {c.error}
                    </Typography>
                  ) : null}
                </Box>
              ))}
              <Box component="li" sx={{ color: 'text.secondary', fontSize: 14 }}>
                {h.role} process, version {h.version}, status {h.status}
              </Box>
            </Box>
          )}
        </Remote>
      </Paper>
    </>
  );
}
