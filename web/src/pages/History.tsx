import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
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
import { useState } from 'react';
import { api } from '../api/client.ts';
import { displayName, useSpecies } from '../api/species.ts';
import type { Page, StoredPrediction } from '../api/types.ts';
import { useApi } from '../api/useApi.ts';
import { downloadCsv } from '../components/csv.ts';
import { ErrorState, PageTitle, Remote } from '../components/states.tsx';
import { Thumb } from '../components/Thumb.tsx';
import { ms, pct, when } from '../format.ts';

interface Filters {
  species: string;
  from: string;
  to: string;
  model: string;
  min_confidence: string;
  unit_id: string;
}

const EMPTY: Filters = {
  species: '',
  from: '',
  to: '',
  model: '',
  min_confidence: '',
  unit_id: '',
};

function toQuery(f: Filters) {
  return {
    species: f.species || undefined,
    from: f.from ? new Date(f.from).toISOString() : undefined,
    to: f.to ? new Date(`${f.to}T23:59:59.999`).toISOString() : undefined,
    model: f.model || undefined,
    min_confidence: f.min_confidence ? Number(f.min_confidence) / 100 : undefined,
    unit_id: f.unit_id || undefined,
  };
}

export default function History() {
  const species = useSpecies();
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [page, setPage] = useState(0);
  const [rowsPerPage, setRowsPerPage] = useState(20);
  const [exportError, setExportError] = useState<Error>();
  const [exporting, setExporting] = useState(false);
  const query = toQuery(filters);
  const state = useApi<Page<StoredPrediction>>('/api/v1/predictions/history', {
    ...query,
    limit: rowsPerPage,
    offset: page * rowsPerPage,
  });
  const name = (label: string | null) => displayName(species, label);
  const set = (key: keyof Filters) => (e: { target: { value: string } }) => {
    setFilters((f) => ({ ...f, [key]: e.target.value }));
    setPage(0);
  };

  const exportCsv = async () => {
    setExporting(true);
    setExportError(undefined);
    try {
      const rows: StoredPrediction[] = [];
      // Pages of 500 (the API's maximum), up to 20,000 rows.
      for (let offset = 0; offset < 20_000; offset += 500) {
        const p = await api<Page<StoredPrediction>>('/api/v1/predictions/history', {
          query: { ...query, limit: 500, offset },
        });
        rows.push(...p.items);
        if (rows.length >= p.total || p.items.length === 0) break;
      }
      downloadCsv(
        `predictions-${new Date().toISOString().slice(0, 10)}.csv`,
        [
          'id',
          'created_at',
          'label',
          'species',
          'confidence',
          'status',
          'model',
          'version',
          'unit_id',
          'device_id',
          'inference_ms',
          'feedback_label',
        ],
        rows.map((r) => [
          r.id,
          r.created_at,
          r.label,
          r.species,
          r.confidence,
          r.status,
          r.model.name,
          r.model.version,
          r.unit_id,
          r.device_id,
          r.inference_ms,
          r.feedback?.label ?? '',
        ]),
      );
    } catch (err) {
      setExportError(err as Error);
    } finally {
      setExporting(false);
    }
  };

  return (
    <>
      <PageTitle
        action={
          <Button variant="outlined" onClick={() => void exportCsv()} disabled={exporting}>
            {exporting ? 'Exporting…' : 'Export CSV'}
          </Button>
        }
      >
        History
      </PageTitle>
      {exportError ? <ErrorState error={exportError} /> : null}
      <Paper
        component="form"
        aria-label="Filters"
        sx={{ p: 2, mb: 2 }}
        onSubmit={(e) => e.preventDefault()}
      >
        <Box
          sx={{
            display: 'grid',
            gap: 2,
            gridTemplateColumns: { xs: '1fr 1fr', md: 'repeat(6, 1fr)' },
          }}
        >
          <TextField
            select
            label="Species"
            size="small"
            value={filters.species}
            onChange={set('species')}
          >
            <MenuItem value="">All species</MenuItem>
            {species.map((s) => (
              <MenuItem key={s.label} value={s.label}>
                {name(s.label)}
              </MenuItem>
            ))}
          </TextField>
          <TextField
            label="From"
            type="date"
            size="small"
            value={filters.from}
            onChange={set('from')}
            slotProps={{ inputLabel: { shrink: true } }}
          />
          <TextField
            label="To"
            type="date"
            size="small"
            value={filters.to}
            onChange={set('to')}
            slotProps={{ inputLabel: { shrink: true } }}
          />
          <TextField
            label="Model"
            size="small"
            value={filters.model}
            onChange={set('model')}
            placeholder="species"
          />
          <TextField
            label="Min. confidence %"
            type="number"
            size="small"
            value={filters.min_confidence}
            onChange={set('min_confidence')}
            slotProps={{ htmlInput: { min: 0, max: 100 } }}
          />
          <TextField label="Unit" size="small" value={filters.unit_id} onChange={set('unit_id')} />
        </Box>
      </Paper>
      <Remote
        state={state}
        isEmpty={(p) => p.items.length === 0}
        empty="No predictions match these filters."
      >
        {(p) => (
          <Paper>
            <TableContainer>
              <Table size="small" aria-label="Predictions">
                <TableHead>
                  <TableRow>
                    <TableCell>Image</TableCell>
                    <TableCell>Species</TableCell>
                    <TableCell>Confidence</TableCell>
                    <TableCell sx={{ display: { xs: 'none', md: 'table-cell' } }}>Model</TableCell>
                    <TableCell sx={{ display: { xs: 'none', md: 'table-cell' } }}>Unit</TableCell>
                    <TableCell sx={{ display: { xs: 'none', sm: 'table-cell' } }}>When</TableCell>
                    <TableCell>Correction</TableCell>
                  </TableRow>
                </TableHead>
                <TableBody>
                  {p.items.map((r) => (
                    <TableRow key={r.id}>
                      <TableCell>
                        <Thumb predictionId={r.id} alt={`Image classified as ${name(r.label)}`} />
                      </TableCell>
                      <TableCell>
                        {r.status === 'unknown' ? (
                          <>
                            <Chip size="small" color="warning" label="unknown" /> closest{' '}
                            {name(r.label)}
                          </>
                        ) : (
                          name(r.species ?? r.label)
                        )}
                      </TableCell>
                      <TableCell>{pct(r.confidence)}</TableCell>
                      <TableCell sx={{ display: { xs: 'none', md: 'table-cell' } }}>
                        {r.model.name} v{r.model.version} · {ms(r.inference_ms)}
                      </TableCell>
                      <TableCell sx={{ display: { xs: 'none', md: 'table-cell' } }}>
                        {r.unit_id ?? '—'}
                      </TableCell>
                      <TableCell sx={{ display: { xs: 'none', sm: 'table-cell' } }}>
                        {when(r.created_at)}
                      </TableCell>
                      <TableCell>
                        {r.feedback ? (
                          <Chip
                            size="small"
                            color={r.feedback.label === r.label ? 'success' : 'secondary'}
                            label={`Corrected: ${r.feedback.label === 'unknown' ? 'unknown' : name(r.feedback.label)}`}
                          />
                        ) : (
                          '—'
                        )}
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            </TableContainer>
            <TablePagination
              component="div"
              count={p.total}
              page={page}
              onPageChange={(_, n) => setPage(n)}
              rowsPerPage={rowsPerPage}
              rowsPerPageOptions={[10, 20, 50, 100]}
              onRowsPerPageChange={(e) => {
                setRowsPerPage(Number(e.target.value));
                setPage(0);
              }}
            />
          </Paper>
        )}
      </Remote>
    </>
  );
}
