import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import LinearProgress from '@mui/material/LinearProgress';
import Typography from '@mui/material/Typography';
import type { Task } from '../api/types.ts';
import { useApi } from '../api/useApi.ts';
import { pct } from '../format.ts';

const DONE = new Set(['succeeded', 'failed', 'cancelled']);

/** Follows one background task until it ends. */
export function TaskProgress({ taskId }: { taskId: string }) {
  const state = useApi<Task>(`/api/v1/tasks/${taskId}`, undefined, 2000);
  const t = state.data;
  if (!t) return <LinearProgress aria-label="Starting task" />;
  const done = DONE.has(t.state);
  return (
    <Box sx={{ mt: 1 }} aria-live="polite">
      <Typography variant="body2">
        Task {t.type} {t.id.slice(0, 8)}: <strong>{t.state}</strong>{' '}
        {done ? '' : pct(t.progress, 0)}
        {t.progress_note ? ` · ${t.progress_note}` : ''}
      </Typography>
      {done ? null : (
        <LinearProgress
          variant="determinate"
          value={t.progress * 100}
          aria-label={`Task progress ${pct(t.progress, 0)}`}
        />
      )}
      {t.state === 'failed' ? <Alert severity="error">{t.error}</Alert> : null}
      {t.state === 'succeeded' && t.result ? (
        <Box
          component="pre"
          sx={{ fontSize: 12, bgcolor: 'action.hover', p: 1, overflow: 'auto', maxHeight: 200 }}
        >
          {JSON.stringify(t.result, null, 2)}
        </Box>
      ) : null}
    </Box>
  );
}
