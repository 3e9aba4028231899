import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import LinearProgress from '@mui/material/LinearProgress';
import Link from '@mui/material/Link';
import MenuItem from '@mui/material/MenuItem';
import Paper from '@mui/material/Paper';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import ToggleButton from '@mui/material/ToggleButton';
import ToggleButtonGroup from '@mui/material/ToggleButtonGroup';
import Typography from '@mui/material/Typography';
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { Link as RouterLink, useParams } from 'react-router';
import { api } from '../api/client.ts';
import { METRICS, SEVERITY_COLOUR } from '../api/farm.ts';
import { displayName, useSpecies } from '../api/species.ts';
import type { Alert as AlertT, Page, ReadingPoint, Unit } from '../api/types.ts';
import { useApi } from '../api/useApi.ts';
import { useEvents } from '../api/useEvents.ts';
import { useSession } from '../auth.tsx';
import { LineChart } from '../components/LineChart.tsx';
import { ErrorState, PageTitle, Remote } from '../components/states.tsx';
import { num, pct, when } from '../format.ts';

const WINDOWS = { '1h': 3600e3, '6h': 6 * 3600e3, '24h': 86_400e3, '7d': 7 * 86_400e3 } as const;
type WindowKey = keyof typeof WINDOWS;
// The stream pushes changes; the slow poll only covers a dropped stream.
const POLL_MS = 30_000;

interface Range {
  min: number | null;
  max: number | null;
}

export default function UnitPage() {
  const { unitId } = useParams();
  const unit = useApi<Unit>(`/api/v1/units/${unitId}`);
  const species = useApi<{ water_quality?: Record<string, Range>; common_name?: string }>(
    unit.data?.species ? `/api/v1/species/${unit.data.species}` : null,
  );
  const alerts = useApi<Page<AlertT>>('/api/v1/alerts', { state: 'open', limit: 100 }, 15_000);
  const [windowKey, setWindowKey] = useState<WindowKey>('1h');
  const [logged, setLogged] = useState(0);
  const unitAlerts = alerts.data?.items.filter((a) => a.unit_id === unitId) ?? [];

  return (
    <>
      <Link component={RouterLink} to="/farms" sx={{ display: 'inline-block', mb: 1 }}>
        ← Farms
      </Link>
      <Remote state={unit}>
        {(u) => (
          <>
            <PageTitle
              action={
                <ToggleButtonGroup
                  size="small"
                  exclusive
                  value={windowKey}
                  onChange={(_, v) => v && setWindowKey(v as WindowKey)}
                  aria-label="Chart window"
                >
                  {Object.keys(WINDOWS).map((k) => (
                    <ToggleButton key={k} value={k}>
                      {k}
                    </ToggleButton>
                  ))}
                </ToggleButtonGroup>
              }
            >
              {u.name}
            </PageTitle>
            <Typography color="text.secondary" sx={{ mb: 2 }}>
              {u.kind}
              {u.species ? ` · ${species.data?.common_name ?? u.species}` : ''}
              {u.volume_m3 ? ` · ${u.volume_m3} m³` : ''}
              {u.stocked_count ? ` · stocked ${u.stocked_count.toLocaleString()} fish` : ''}
            </Typography>
            {unitAlerts.length ? (
              <Alert
                severity={SEVERITY_COLOUR[unitAlerts[0].severity] === 'error' ? 'error' : 'warning'}
                sx={{ mb: 2 }}
              >
                {unitAlerts.length} open alert{unitAlerts.length > 1 ? 's' : ''}:{' '}
                {unitAlerts.map((a) => a.message ?? `${a.kind} ${a.metric ?? ''}`).join('; ')} —{' '}
                <Link component={RouterLink} to="/alerts">
                  see alerts
                </Link>
              </Alert>
            ) : null}
            <Charts
              unitId={u.id}
              windowMs={WINDOWS[windowKey]}
              speciesRanges={species.data?.water_quality ?? {}}
            />
            <Box
              sx={{
                display: 'grid',
                gap: 2,
                gridTemplateColumns: { xs: '1fr', lg: '1fr 1fr' },
                mt: 2,
              }}
            >
              <SpeciesCounts unitId={u.id} />
              <Kpis unitId={u.id} logged={logged} />
            </Box>
            <Logs unitId={u.id} onLogged={() => setLogged((n) => n + 1)} />
          </>
        )}
      </Remote>
    </>
  );
}

function Charts({
  unitId,
  windowMs,
  speciesRanges,
}: {
  unitId: string;
  windowMs: number;
  speciesRanges: Record<string, Range>;
}) {
  // The unit's own thresholds (species ranges with per-unit overrides); the species' cited ranges
  // when the server has no thresholds API.
  const thresholds = useApi<Record<string, Range>>(`/api/v1/units/${unitId}/thresholds`);
  const [fresh, setFresh] = useState<Record<string, number>>({});
  const pending = useRef(new Set<string>());
  const flush = useRef<ReturnType<typeof setTimeout>>(undefined);
  // New readings arrive over SSE; each touched chart refetches its window, at most once a second.
  useEvents(`/api/v1/units/${unitId}/readings/stream`, (event, data) => {
    if (event !== 'readings' || !Array.isArray(data)) return;
    for (const r of data as { metric: string }[]) pending.current.add(r.metric);
    flush.current ??= setTimeout(() => {
      const touched = [...pending.current];
      pending.current.clear();
      flush.current = undefined;
      setFresh((f) => {
        const next = { ...f };
        for (const m of touched) next[m] = (next[m] ?? 0) + 1;
        return next;
      });
    }, 1000);
  });
  useEffect(() => () => clearTimeout(flush.current), []);
  return (
    <Box
      sx={{
        display: 'grid',
        gap: 2,
        gridTemplateColumns: { xs: '1fr', md: '1fr 1fr', xl: 'repeat(3, 1fr)' },
      }}
    >
      {METRICS.map((m) => (
        <MetricChart
          key={m.name}
          unitId={unitId}
          metric={m}
          windowMs={windowMs}
          fresh={fresh[m.name] ?? 0}
          range={
            thresholds.data ? thresholds.data[m.name] : m.range ? speciesRanges[m.range] : undefined
          }
        />
      ))}
    </Box>
  );
}

function MetricChart({
  unitId,
  metric,
  windowMs,
  range,
  fresh,
}: {
  unitId: string;
  metric: (typeof METRICS)[number];
  windowMs: number;
  range?: Range;
  /** Bumped when the stream says this metric has new readings. */
  fresh: number;
}) {
  // "to" is left open so new readings come in; the start is fixed while the page is open.
  const from = useMemo(() => new Date(Date.now() - windowMs).toISOString(), [windowMs]);
  const readings = useApi<{ items: ReadingPoint[] }>(
    `/api/v1/units/${unitId}/readings`,
    { metric: metric.name, from },
    POLL_MS,
  );
  const { reload } = readings;
  useEffect(() => {
    if (fresh) reload();
  }, [fresh, reload]);
  const points = readings.data?.items.map((p) => ({ t: Date.parse(p.ts), v: p.mean })) ?? [];
  const latest = points.at(-1)?.v;
  const out =
    latest !== undefined &&
    range &&
    ((range.min !== null && latest < range.min) || (range.max !== null && latest > range.max));
  return (
    <Paper sx={{ p: 2 }} component="section" aria-label={`${metric.label} chart`}>
      <Box sx={{ display: 'flex', justifyContent: 'space-between', alignItems: 'center' }}>
        <Typography variant="subtitle1" component="h2">
          {metric.label}
        </Typography>
        {latest !== undefined ? (
          <Chip
            size="small"
            color={out ? 'error' : range ? 'success' : 'default'}
            label={`${num(latest)}${metric.unit}${out ? ' out of range' : ''}`}
          />
        ) : null}
      </Box>
      {readings.error && !readings.data ? (
        <ErrorState error={readings.error} onRetry={readings.reload} />
      ) : readings.loading && !readings.data ? (
        <LinearProgress aria-label={`Loading ${metric.label}`} />
      ) : (
        <LineChart
          label={metric.label}
          unit={metric.unit}
          height={150}
          band={range}
          series={[{ name: 'mean', colour: '#0b5e7a', points }]}
        />
      )}
    </Paper>
  );
}

interface SpeciesCountsT {
  total: number;
  unknown: number;
  unknown_rate: number | null;
  species: { species: string; count: number }[];
}

function SpeciesCounts({ unitId }: { unitId: string }) {
  const names = useSpecies();
  // Whole hours, so the minute-by-minute poll asks the same question until the hour turns.
  const from = new Date(Date.now() - 7 * 86_400e3).toISOString().slice(0, 13) + ':00:00.000Z';
  const counts = useApi<{ totals: SpeciesCountsT }>(
    `/api/v1/units/${unitId}/species-counts`,
    { from, step: '1d' },
    60_000,
  );
  return (
    <Paper sx={{ p: 2 }} component="section" aria-label="Species from cameras">
      <Typography variant="h6" component="h2">
        Species from cameras (7 days)
      </Typography>
      <Remote
        state={counts}
        isEmpty={(c) => c.totals.total === 0}
        empty="No camera frames classified for this unit yet."
      >
        {({ totals: t }) => (
          <>
            <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
              {t.total} frame{t.total === 1 ? '' : 's'}, {t.unknown} unknown ({pct(t.unknown_rate)})
            </Typography>
            <Table size="small" aria-label="Species counts">
              <TableBody>
                {t.species.map((row) => (
                  <TableRow key={row.species}>
                    <TableCell>{displayName(names, row.species)}</TableCell>
                    <TableCell align="right">{row.count}</TableCell>
                    <TableCell align="right">{pct(row.count / t.total)}</TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </>
        )}
      </Remote>
    </Paper>
  );
}

const KPI_DAYS = [7, 30, 90];

interface UnitKpis {
  days: number;
  fish: { start: number; stocked: number; dead: number; harvested: number; end: number };
  mortality_rate: number | null;
  survival_rate: number | null;
  mean_weight_g: { start: number | null; end: number | null };
  biomass_kg: { start: number | null; end: number | null; gain: number | null };
  feed_kg: number;
  fcr: number | null;
  sgr_percent_per_day: number | null;
  water_quality: { compliance: number | null; minutes_measured: number; metrics: string[] };
}

const dash = (v: number | null, digits = 2, unit = '') =>
  v === null ? '—' : num(v, digits) + unit;

function kpiRows(k: UnitKpis): [string, string][] {
  const wq = k.water_quality;
  return [
    ['Fish (start → end)', `${k.fish.start.toLocaleString()} → ${k.fish.end.toLocaleString()}`],
    ['Dead', k.fish.dead.toLocaleString()],
    ['Mortality rate', pct(k.mortality_rate)],
    ['Survival', pct(k.survival_rate)],
    [
      'Mean weight (start → end)',
      `${dash(k.mean_weight_g.start, 1, ' g')} → ${dash(k.mean_weight_g.end, 1, ' g')}`,
    ],
    ['Biomass (end)', dash(k.biomass_kg.end, 1, ' kg')],
    ['Biomass gain', dash(k.biomass_kg.gain, 1, ' kg')],
    ['Feed given', `${num(k.feed_kg, 1)} kg`],
    ['FCR', dash(k.fcr)],
    ['SGR', dash(k.sgr_percent_per_day, 2, ' %/day')],
    [
      'Water-quality compliance',
      wq.compliance === null
        ? 'no readings with a range'
        : `${pct(wq.compliance)} of ${wq.minutes_measured.toLocaleString()} min`,
    ],
  ];
}

/** `logged` changes when an entry is saved on this page, so the figures include it. */
function Kpis({ unitId, logged }: { unitId: string; logged: number }) {
  const [days, setDays] = useState(30);
  // A new entry moves the period's end to now (the next whole minute).
  const to = useMemo(
    () => new Date(Math.ceil(Date.now() / 60_000) * 60_000).toISOString(),
    [logged],
  );
  const from = new Date(Date.parse(to) - days * 86_400e3).toISOString();
  const kpis = useApi<UnitKpis>(`/api/v1/units/${unitId}/kpis`, { from, to });
  // Within the same minute the question is unchanged, so ask it again.
  const { reload } = kpis;
  useEffect(() => {
    if (logged) reload();
  }, [logged, reload]);
  return (
    <Paper sx={{ p: 2 }} component="section" aria-label="KPIs">
      <Box sx={{ display: 'flex', justifyContent: 'space-between', alignItems: 'center', mb: 1 }}>
        <Typography variant="h6" component="h2">
          KPIs
        </Typography>
        <TextField
          select
          size="small"
          label="Period"
          value={days}
          onChange={(e) => setDays(Number(e.target.value))}
        >
          {KPI_DAYS.map((d) => (
            <MenuItem key={d} value={d}>
              last {d} days
            </MenuItem>
          ))}
        </TextField>
      </Box>
      <Remote state={kpis}>
        {(k) => (
          <Table size="small" aria-label="KPI values">
            <TableBody>
              {kpiRows(k).map(([label, value]) => (
                <TableRow key={label}>
                  <TableCell>{label}</TableCell>
                  <TableCell align="right">{value}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </Remote>
    </Paper>
  );
}

interface LogEntry {
  id: string;
  kind: string;
  occurred_at: string;
  count: number | null;
  mean_weight_g: number | null;
  feed_kg: number | null;
  feed_type: string | null;
  cause: string | null;
  note: string | null;
}

const LOG_KINDS = [
  { kind: 'mortality', label: 'Mortality' },
  { kind: 'feeding', label: 'Feeding' },
  { kind: 'growth_sample', label: 'Growth sample' },
] as const;

function Logs({ unitId, onLogged }: { unitId: string; onLogged: () => void }) {
  const { can } = useSession();
  const logs = useApi<Page<LogEntry>>(`/api/v1/units/${unitId}/logs`, { limit: 20 });
  const [kind, setKind] = useState<(typeof LOG_KINDS)[number]['kind']>('mortality');
  const [fields, setFields] = useState({
    count: '',
    cause: '',
    feed_kg: '',
    feed_type: '',
    mean_weight_g: '',
  });
  const [error, setError] = useState<Error>();
  const [saved, setSaved] = useState<string>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setSaved(undefined);
    const n = (s: string) => (s === '' ? undefined : Number(s));
    const body =
      kind === 'mortality'
        ? { kind, count: n(fields.count), cause: fields.cause || undefined }
        : kind === 'feeding'
          ? { kind, feed_kg: n(fields.feed_kg), feed_type: fields.feed_type || undefined }
          : { kind, count: n(fields.count), mean_weight_g: n(fields.mean_weight_g) };
    try {
      await api(`/api/v1/units/${unitId}/logs`, { method: 'POST', body });
      setSaved(`${LOG_KINDS.find((k) => k.kind === kind)?.label} logged.`);
      setFields({ count: '', cause: '', feed_kg: '', feed_type: '', mean_weight_g: '' });
      logs.reload();
      onLogged();
    } catch (err) {
      setError(err as Error);
    }
  };
  const field = (key: keyof typeof fields, label: string, type = 'text') => (
    <TextField
      size="small"
      label={label}
      type={type}
      value={fields[key]}
      onChange={(e) => setFields({ ...fields, [key]: e.target.value })}
      slotProps={type === 'number' ? { htmlInput: { min: 0, step: 'any' } } : undefined}
    />
  );

  return (
    <Paper sx={{ p: 2, mt: 2 }} component="section" aria-label="Operational log">
      <Typography variant="h6" component="h2" sx={{ mb: 1 }}>
        Operational log
      </Typography>
      {can('operator') ? (
        <Box component="form" onSubmit={submit} aria-label="New log entry" sx={{ mb: 2 }}>
          <ToggleButtonGroup
            size="small"
            exclusive
            value={kind}
            onChange={(_, v) => v && setKind(v)}
            aria-label="Log kind"
            sx={{ mb: 2, flexWrap: 'wrap' }}
          >
            {LOG_KINDS.map((k) => (
              <ToggleButton key={k.kind} value={k.kind}>
                {k.label}
              </ToggleButton>
            ))}
          </ToggleButtonGroup>
          <Box
            sx={{
              display: 'grid',
              gap: 2,
              gridTemplateColumns: { xs: '1fr', sm: '1fr 1fr auto' },
              alignItems: 'center',
            }}
          >
            {kind === 'mortality' ? (
              <>
                {field('count', 'Dead fish', 'number')}
                {field('cause', 'Cause')}
              </>
            ) : kind === 'feeding' ? (
              <>
                {field('feed_kg', 'Feed (kg)', 'number')}
                {field('feed_type', 'Feed type')}
              </>
            ) : (
              <>
                {field('count', 'Fish weighed', 'number')}
                {field('mean_weight_g', 'Mean weight (g)', 'number')}
              </>
            )}
            <Button type="submit" variant="contained">
              Save entry
            </Button>
          </Box>
          {error ? <ErrorState error={error} /> : null}
          {saved ? (
            <Alert severity="success" sx={{ mt: 1 }}>
              {saved}
            </Alert>
          ) : null}
        </Box>
      ) : null}
      <Remote state={logs} isEmpty={(d) => d.items.length === 0} empty="Nothing logged yet.">
        {(d) => (
          <Table size="small" aria-label="Recent log entries">
            <TableBody>
              {d.items.map((l) => (
                <TableRow key={l.id}>
                  <TableCell>{when(l.occurred_at)}</TableCell>
                  <TableCell>{l.kind.replace('_', ' ')}</TableCell>
                  <TableCell>
                    {[
                      l.count !== null ? `${l.count} fish` : null,
                      l.mean_weight_g !== null ? `${l.mean_weight_g} g mean` : null,
                      l.feed_kg !== null ? `${l.feed_kg} kg` : null,
                      l.feed_type,
                      l.cause,
                      l.note,
                    ]
                      .filter(Boolean)
                      .join(' · ')}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </Remote>
    </Paper>
  );
}
