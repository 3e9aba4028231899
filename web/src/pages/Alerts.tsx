import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import Paper from '@mui/material/Paper';
import Tab from '@mui/material/Tab';
import Tabs from '@mui/material/Tabs';
import Typography from '@mui/material/Typography';
import { useState } from 'react';
import { api } from '../api/client.ts';
import { SEVERITY_COLOUR } from '../api/farm.ts';
import type { Alert, Page } from '../api/types.ts';
import { useApi } from '../api/useApi.ts';
import { useEvents } from '../api/useEvents.ts';
import { useSession } from '../auth.tsx';
import { ErrorState, PageTitle, Remote } from '../components/states.tsx';
import { when } from '../format.ts';

const STATES = ['open', 'acknowledged', 'resolved'] as const;

interface TimelineEvent {
  type: string;
  at: string;
  actor_user_id: string | null;
  value: number | null;
  details: Record<string, unknown>;
}

export default function Alerts() {
  const [tab, setTab] = useState(0);
  const state = STATES[tab];
  const counts = useApi<Page<Alert>>('/api/v1/alerts', { state: 'open', limit: 1 }, 30_000);
  const alerts = useApi<Page<Alert>>('/api/v1/alerts', { state, limit: 100 }, 30_000);
  // Changes arrive live; the slow poll only covers a dropped stream.
  useEvents('/api/v1/alerts/stream', () => {
    alerts.reload();
    counts.reload();
  });
  return (
    <>
      <PageTitle>Alerts</PageTitle>
      <Tabs
        value={tab}
        onChange={(_, v) => setTab(v as number)}
        sx={{ mb: 2 }}
        aria-label="Alert state"
      >
        <Tab label={`Open${counts.data ? ` (${counts.data.total})` : ''}`} />
        <Tab label="Acknowledged" />
        <Tab label="Resolved" />
      </Tabs>
      <Remote state={alerts} isEmpty={(d) => d.items.length === 0} empty={`No ${state} alerts.`}>
        {(d) => (
          <Box sx={{ display: 'grid', gap: 2 }}>
            {d.items.map((a) => (
              <AlertCard
                key={a.id}
                alert={a}
                onChanged={() => {
                  alerts.reload();
                  counts.reload();
                }}
              />
            ))}
          </Box>
        )}
      </Remote>
    </>
  );
}

/** Names a user id: "you" for the signed-in user, else the id's first characters. */
function useWho(): (id: string) => string {
  const { user } = useSession();
  return (id) => (id === user?.id ? 'you' : `user ${id.slice(0, 8)}`);
}

function AlertCard({ alert: a, onChanged }: { alert: Alert; onChanged: () => void }) {
  const { can } = useSession();
  const who = useWho();
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const [showTimeline, setShowTimeline] = useState(false);
  const act = async (action: 'acknowledge' | 'resolve') => {
    setBusy(true);
    setError(undefined);
    try {
      await api(`/api/v1/alerts/${a.id}/${action}`, { method: 'POST', body: {} });
      onChanged();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const title =
    a.message ??
    `${a.kind.replaceAll('_', ' ')}${a.metric ? `: ${a.metric.replaceAll('_', ' ')}` : ''}`;
  return (
    <Paper
      component="article"
      aria-label={`Alert ${title}`}
      sx={{ p: 2, borderLeft: 6, borderLeftColor: `${SEVERITY_COLOUR[a.severity]}.main` }}
    >
      <Box sx={{ display: 'flex', gap: 1, alignItems: 'center', flexWrap: 'wrap' }}>
        <Chip size="small" color={SEVERITY_COLOUR[a.severity]} label={a.severity} />
        <Typography component="h2" variant="subtitle1" sx={{ flexGrow: 1, fontWeight: 600 }}>
          {title}
        </Typography>
        <Chip size="small" variant="outlined" label={a.state} />
      </Box>
      <Typography variant="body2" color="text.secondary" sx={{ mt: 0.5 }}>
        Opened {when(a.opened_at)}
        {a.unit_name
          ? ` · unit ${String(a.unit_name)}`
          : a.unit_id
            ? ` · unit ${a.unit_id.slice(0, 8)}`
            : ''}
        {typeof a.value === 'number' ? ` · value ${a.value}` : ''}
        {a.acknowledged_by ? ` · acknowledged by ${who(a.acknowledged_by)}` : ''}
      </Typography>
      {error ? <ErrorState error={error} /> : null}
      <Box sx={{ display: 'flex', gap: 1, mt: 1, flexWrap: 'wrap' }}>
        {can('operator') && a.state === 'open' ? (
          <Button
            size="small"
            variant="contained"
            disabled={busy}
            onClick={() => void act('acknowledge')}
          >
            Acknowledge
          </Button>
        ) : null}
        {can('operator') && a.state !== 'resolved' ? (
          <Button
            size="small"
            variant="outlined"
            disabled={busy}
            onClick={() => void act('resolve')}
          >
            Resolve
          </Button>
        ) : null}
        <Button
          size="small"
          onClick={() => setShowTimeline(!showTimeline)}
          aria-expanded={showTimeline}
        >
          Timeline
        </Button>
      </Box>
      {showTimeline ? <Timeline alert={a} /> : null}
    </Paper>
  );
}

function Timeline({ alert: a }: { alert: Alert }) {
  const who = useWho();
  // Polled while shown: webhook deliveries land on the timeline without changing the alert, so
  // the alerts stream does not announce them.
  const events = useApi<{ items: TimelineEvent[] }>(
    `/api/v1/alerts/${a.id}/timeline`,
    undefined,
    15_000,
  );
  return (
    <Remote state={events} isEmpty={(d) => d.items.length === 0} empty="No events recorded.">
      {(d) => (
        <Box component="ol" sx={{ m: 0, mt: 1, pl: 3 }} aria-label="Timeline">
          {d.items.map((e, i) => (
            <li key={i}>
              <Typography variant="body2">
                {when(e.at)}: {e.type}
                {e.value !== null ? ` at ${e.value}` : ''}
                {e.actor_user_id ? ` by ${who(e.actor_user_id)}` : ''}
                {typeof e.details.note === 'string' ? ` (${e.details.note})` : ''}
              </Typography>
            </li>
          ))}
        </Box>
      )}
    </Remote>
  );
}
