import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import LinearProgress from '@mui/material/LinearProgress';
import MenuItem from '@mui/material/MenuItem';
import Paper from '@mui/material/Paper';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableContainer from '@mui/material/TableContainer';
import TableHead from '@mui/material/TableHead';
import TablePagination from '@mui/material/TablePagination';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import { Fragment, useState } from 'react';
import { api } from '../api/client.ts';
import type { Page, Task, TaskState } from '../api/types.ts';
import { useApi } from '../api/useApi.ts';
import { ErrorState, PageTitle, Remote } from '../components/states.tsx';
import { duration, pct, when } from '../format.ts';

const COLOURS: Record<TaskState, 'default' | 'info' | 'success' | 'error' | 'warning'> = {
  queued: 'default',
  running: 'info',
  succeeded: 'success',
  failed: 'error',
  cancelled: 'warning',
};

export default function Tasks() {
  const [state, setState] = useState('');
  const [page, setPage] = useState(0);
  const [open, setOpen] = useState<string>();
  const [error, setError] = useState<Error>();
  const tasks = useApi<Page<Task>>(
    '/api/v1/tasks',
    { state: state || undefined, limit: 20, offset: page * 20 },
    3000,
  );

  const cancel = async (id: string) => {
    setError(undefined);
    try {
      await api(`/api/v1/tasks/${id}`, { method: 'DELETE' });
      tasks.reload();
    } catch (err) {
      setError(err as Error);
    }
  };

  return (
    <>
      <PageTitle
        action={
          <TextField
            select
            size="small"
            label="State"
            value={state}
            onChange={(e) => {
              setState(e.target.value);
              setPage(0);
            }}
            sx={{ minWidth: 150 }}
          >
            <MenuItem value="">All states</MenuItem>
            {Object.keys(COLOURS).map((s) => (
              <MenuItem key={s} value={s}>
                {s}
              </MenuItem>
            ))}
          </TextField>
        }
      >
        Tasks
      </PageTitle>
      {error ? <ErrorState error={error} /> : null}
      <Remote
        state={tasks}
        isEmpty={(d) => d.items.length === 0}
        empty="No tasks yet. Batch predictions, training and evaluation run here."
      >
        {(d) => (
          <Paper>
            <TableContainer>
              <Table size="small" aria-label="Tasks">
                <TableHead>
                  <TableRow>
                    <TableCell>Type</TableCell>
                    <TableCell>State</TableCell>
                    <TableCell sx={{ minWidth: 140 }}>Progress</TableCell>
                    <TableCell sx={{ display: { xs: 'none', md: 'table-cell' } }}>
                      Created
                    </TableCell>
                    <TableCell sx={{ display: { xs: 'none', sm: 'table-cell' } }}>
                      Run time
                    </TableCell>
                    <TableCell>Actions</TableCell>
                  </TableRow>
                </TableHead>
                <TableBody>
                  {d.items.map((t) => {
                    const live = t.state === 'queued' || t.state === 'running';
                    return (
                      <Fragment key={t.id}>
                        <TableRow>
                          <TableCell>
                            {t.type}
                            <Box
                              component="span"
                              sx={{ display: 'block', fontSize: 12, color: 'text.secondary' }}
                            >
                              {t.id.slice(0, 8)}
                            </Box>
                          </TableCell>
                          <TableCell>
                            <Chip
                              size="small"
                              color={COLOURS[t.state]}
                              label={t.cancel_requested && live ? 'cancelling' : t.state}
                            />
                          </TableCell>
                          <TableCell>
                            <LinearProgress
                              variant="determinate"
                              value={t.progress * 100}
                              aria-label={`Progress ${pct(t.progress, 0)}`}
                            />
                            <Box component="span" sx={{ fontSize: 12 }}>
                              {pct(t.progress, 0)} {t.progress_note ?? ''}
                            </Box>
                          </TableCell>
                          <TableCell sx={{ display: { xs: 'none', md: 'table-cell' } }}>
                            {when(t.created_at)}
                          </TableCell>
                          <TableCell sx={{ display: { xs: 'none', sm: 'table-cell' } }}>
                            {t.timings.run_ms === null
                              ? `queued ${duration(t.timings.queue_ms / 1000)}`
                              : duration(t.timings.run_ms / 1000)}
                          </TableCell>
                          <TableCell>
                            <Box sx={{ display: 'flex', gap: 1 }}>
                              {live && !t.cancel_requested ? (
                                <Button
                                  size="small"
                                  color="warning"
                                  onClick={() => void cancel(t.id)}
                                >
                                  Cancel
                                </Button>
                              ) : null}
                              {!live ? (
                                <Button
                                  size="small"
                                  onClick={() => setOpen(open === t.id ? undefined : t.id)}
                                  aria-expanded={open === t.id}
                                >
                                  {open === t.id ? 'Hide result' : 'Result'}
                                </Button>
                              ) : null}
                            </Box>
                          </TableCell>
                        </TableRow>
                        {open === t.id ? (
                          <TableRow>
                            <TableCell colSpan={6}>
                              {t.error ? <ErrorState error={new Error(t.error)} /> : null}
                              <Box
                                component="pre"
                                sx={{
                                  fontSize: 12,
                                  m: 0,
                                  maxHeight: 300,
                                  overflow: 'auto',
                                  whiteSpace: 'pre-wrap',
                                }}
                              >
                                {JSON.stringify(t.result, null, 2)}
                              </Box>
                            </TableCell>
                          </TableRow>
                        ) : null}
                      </Fragment>
                    );
                  })}
                </TableBody>
              </Table>
            </TableContainer>
            <TablePagination
              component="div"
              count={d.total}
              page={page}
              onPageChange={(_, n) => setPage(n)}
              rowsPerPage={20}
              rowsPerPageOptions={[20]}
            />
          </Paper>
        )}
      </Remote>
    </>
  );
}
