import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import Dialog from '@mui/material/Dialog';
import DialogActions from '@mui/material/DialogActions';
import DialogContent from '@mui/material/DialogContent';
import DialogTitle from '@mui/material/DialogTitle';
import FormControlLabel from '@mui/material/FormControlLabel';
import MenuItem from '@mui/material/MenuItem';
import Paper from '@mui/material/Paper';
import Slider from '@mui/material/Slider';
import Switch from '@mui/material/Switch';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableContainer from '@mui/material/TableContainer';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import useMediaQuery from '@mui/material/useMediaQuery';
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../api/client.ts';
import type { ActiveModel, ModelVersion, Page, Traffic, VersionStats } from '../api/types.ts';
import { useApi } from '../api/useApi.ts';
import { useSession } from '../auth.tsx';
import { AuthImage } from '../components/AuthImage.tsx';
import { Markdown } from '../components/Markdown.tsx';
import { ErrorState, Loading, PageTitle, Remote } from '../components/states.tsx';
import { TaskProgress } from '../components/TaskProgress.tsx';
import { ms, num, pct, when } from '../format.ts';

const metric = (v: ModelVersion, key: string): number | undefined => {
  const val = (v.metrics.val ?? v.metrics) as Record<string, unknown>;
  return typeof val[key] === 'number' ? (val[key] as number) : undefined;
};

export default function Models() {
  const all = useApi<Page<ModelVersion>>('/api/v1/models/all', { limit: 500 });
  const active = useApi<{ items: ActiveModel[] }>('/api/v1/models/active');
  const [model, setModel] = useState<string>('');
  const [notice, setNotice] = useState<string>();
  const [error, setError] = useState<Error>();
  const names = [...new Set(all.data?.items.map((v) => v.name) ?? [])];
  useEffect(() => {
    if (!model && names.length) setModel(names.includes('species') ? 'species' : names[0]);
  }, [model, names]);

  const act = async (what: string, path: string, body: unknown) => {
    setError(undefined);
    setNotice(undefined);
    try {
      await api(path, { method: 'POST', body });
      setNotice(what);
      all.reload();
      active.reload();
    } catch (err) {
      setError(err as Error);
    }
  };

  return (
    <>
      <PageTitle
        action={
          names.length > 1 ? (
            <TextField
              select
              size="small"
              label="Model"
              value={model}
              onChange={(e) => setModel(e.target.value)}
              sx={{ minWidth: 160 }}
            >
              {names.map((n) => (
                <MenuItem key={n} value={n}>
                  {n}
                </MenuItem>
              ))}
            </TextField>
          ) : undefined
        }
      >
        Models
      </PageTitle>
      {notice ? (
        <Alert severity="success" sx={{ mb: 2 }} onClose={() => setNotice(undefined)}>
          {notice}
        </Alert>
      ) : null}
      {error ? <ErrorState error={error} /> : null}
      <Remote
        state={all}
        isEmpty={(d) => d.items.length === 0}
        empty="No model is registered yet. Train one below or with `aquaml train`."
      >
        {(d) => (
          <Versions
            versions={d.items.filter((v) => v.name === model)}
            active={active.data?.items.find((a) => a.model === model)}
            onAct={act}
          />
        )}
      </Remote>
      {model ? (
        <TrafficControl
          key={`${model}-${JSON.stringify(active.data?.items.find((a) => a.model === model)?.traffic)}`}
          model={model}
          active={active.data?.items.find((a) => a.model === model)}
          onSaved={() => active.reload()}
        />
      ) : null}
      <LiveStats />
      <Jobs
        model={model || 'species'}
        versions={all.data?.items.filter((v) => v.name === model) ?? []}
      />
    </>
  );
}

function Versions({
  versions,
  active,
  onAct,
}: {
  versions: ModelVersion[];
  active: ActiveModel | undefined;
  onAct: (what: string, path: string, body: unknown) => Promise<void>;
}) {
  const { can } = useSession();
  const [card, setCard] = useState<ModelVersion>();
  const sorted = [...versions].sort((a, b) => b.version - a.version);
  const name = versions[0]?.name;
  return (
    <Paper sx={{ mb: 3 }}>
      <Box sx={{ p: 2, display: 'flex', gap: 1, alignItems: 'center', flexWrap: 'wrap' }}>
        <Typography variant="h6" component="h2" sx={{ flexGrow: 1 }}>
          Registry
        </Typography>
        <Typography variant="body2">
          champion: <strong>{active?.champion ? `v${active.champion}` : '—'}</strong> · challenger:{' '}
          <strong>{active?.challenger ? `v${active.challenger}` : '—'}</strong>
        </Typography>
        {can('operator') && name ? (
          <Button
            size="small"
            variant="outlined"
            onClick={() =>
              void onAct(`Rolled back the champion of ${name}`, `/api/v1/models/${name}/rollback`, {
                alias: 'champion',
              })
            }
          >
            Roll back champion
          </Button>
        ) : null}
      </Box>
      <TableContainer>
        <Table size="small" aria-label="Model versions">
          <TableHead>
            <TableRow>
              <TableCell>Version</TableCell>
              <TableCell>Aliases</TableCell>
              <TableCell>Accuracy</TableCell>
              <TableCell sx={{ display: { xs: 'none', sm: 'table-cell' } }}>Macro-F1</TableCell>
              <TableCell sx={{ display: { xs: 'none', md: 'table-cell' } }}>ECE</TableCell>
              <TableCell sx={{ display: { xs: 'none', md: 'table-cell' } }}>Source</TableCell>
              <TableCell sx={{ display: { xs: 'none', md: 'table-cell' } }}>Created</TableCell>
              <TableCell>Actions</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {sorted.map((v) => (
              <TableRow key={v.version}>
                <TableCell>
                  v{v.version}{' '}
                  <Typography variant="caption" color="text.secondary">
                    {v.state}
                  </Typography>
                </TableCell>
                <TableCell>
                  {v.aliases.length
                    ? v.aliases.map((a) => (
                        <Chip
                          key={a}
                          size="small"
                          label={a}
                          color={a === 'champion' ? 'primary' : 'default'}
                          sx={{ mr: 0.5 }}
                        />
                      ))
                    : '—'}
                </TableCell>
                <TableCell>{pct(metric(v, 'accuracy'))}</TableCell>
                <TableCell sx={{ display: { xs: 'none', sm: 'table-cell' } }}>
                  {num(metric(v, 'macro_f1'), 3)}
                </TableCell>
                <TableCell sx={{ display: { xs: 'none', md: 'table-cell' } }}>
                  {num(metric(v, 'ece'), 3)}
                </TableCell>
                <TableCell sx={{ display: { xs: 'none', md: 'table-cell' } }}>{v.source}</TableCell>
                <TableCell sx={{ display: { xs: 'none', md: 'table-cell' } }}>
                  {when(v.created_at)}
                </TableCell>
                <TableCell>
                  <Box sx={{ display: 'flex', gap: 1, flexWrap: 'wrap' }}>
                    <Button size="small" onClick={() => setCard(v)}>
                      Card v{v.version}
                    </Button>
                    {can('operator') && !v.aliases.includes('champion') ? (
                      <Button
                        size="small"
                        variant="contained"
                        onClick={() =>
                          void onAct(
                            `v${v.version} is now the champion`,
                            `/api/v1/models/${v.name}/promote`,
                            {
                              version: v.version,
                              alias: 'champion',
                            },
                          )
                        }
                      >
                        Promote v{v.version} to champion
                      </Button>
                    ) : null}
                    {can('operator') && !v.aliases.includes('challenger') ? (
                      <Button
                        size="small"
                        variant="outlined"
                        onClick={() =>
                          void onAct(
                            `v${v.version} is now the challenger`,
                            `/api/v1/models/${v.name}/promote`,
                            {
                              version: v.version,
                              alias: 'challenger',
                            },
                          )
                        }
                      >
                        Make v{v.version} challenger
                      </Button>
                    ) : null}
                  </Box>
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </TableContainer>
      {card ? <ModelCard version={card} onClose={() => setCard(undefined)} /> : null}
    </Paper>
  );
}

function ModelCard({ version, onClose }: { version: ModelVersion; onClose: () => void }) {
  const path = `/api/v1/models/${version.name}/versions/${version.version}`;
  const card = useApi<string>(`${path}/card`);
  const phone = useMediaQuery('(max-width:600px)');
  return (
    <Dialog open onClose={onClose} maxWidth="md" fullWidth fullScreen={phone} scroll="paper">
      <DialogTitle>
        Model card: {version.name} v{version.version}
      </DialogTitle>
      <DialogContent dividers>
        <AuthImage path={`${path}/confusion.svg`} alt="Confusion matrix" />
        <Remote state={card}>{(text) => <Markdown text={text} />}</Remote>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Close</Button>
      </DialogActions>
    </Dialog>
  );
}

function TrafficControl({
  model,
  active,
  onSaved,
}: {
  model: string;
  active: ActiveModel | undefined;
  onSaved: () => void;
}) {
  const { can } = useSession();
  const split = active?.traffic.split ?? [];
  const initial = split.find((s) => s.target === 'challenger')?.weight ?? 0;
  const [challenger, setChallenger] = useState(initial);
  const [shadow, setShadow] = useState(active?.traffic.shadow === 'challenger');
  const [sticky, setSticky] = useState(active?.traffic.sticky ?? true);
  const [error, setError] = useState<Error>();
  const [saved, setSaved] = useState(false);
  if (!active) return null;
  const hasChallenger = active.challenger !== null;

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setSaved(false);
    const body: Record<string, number | string | boolean | null> = { champion: 100 - challenger };
    if (challenger > 0) body.challenger = challenger;
    body.shadow = shadow ? 'challenger' : null;
    body.sticky = sticky;
    try {
      await api<Traffic>(`/api/v1/models/${model}/traffic`, { method: 'PUT', body });
      setSaved(true);
      onSaved();
    } catch (err) {
      setError(err as Error);
    }
  };

  return (
    <Paper component="form" onSubmit={save} sx={{ p: 2, mb: 3 }} aria-label="Traffic split">
      <Typography variant="h6" component="h2">
        Traffic
      </Typography>
      <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
        Now: {split.map((s) => `${s.target} ${s.weight} %`).join(', ') || 'champion 100 %'}
        {active.traffic.shadow ? ` · shadow: ${active.traffic.shadow}` : ''}
      </Typography>
      {hasChallenger ? null : (
        <Alert severity="info" sx={{ mb: 1 }}>
          Make a version the challenger to split traffic or run it in shadow.
        </Alert>
      )}
      <Box sx={{ px: 1, maxWidth: 520 }}>
        <Typography id="split-label" variant="body2">
          Challenger share: {challenger} % (champion {100 - challenger} %)
        </Typography>
        <Slider
          aria-labelledby="split-label"
          value={challenger}
          onChange={(_, v) => setChallenger(v as number)}
          step={5}
          min={0}
          max={100}
          marks
          disabled={!hasChallenger || !can('operator')}
        />
      </Box>
      <FormControlLabel
        control={
          <Switch
            checked={shadow}
            onChange={(e) => setShadow(e.target.checked)}
            disabled={!hasChallenger || !can('operator')}
          />
        }
        label="Shadow: run the challenger on every request (answer recorded, not returned)"
      />
      <FormControlLabel
        control={
          <Switch
            checked={sticky}
            onChange={(e) => setSticky(e.target.checked)}
            disabled={!can('operator')}
          />
        }
        label="Sticky: a user or camera stays on one version"
      />
      {error ? <ErrorState error={error} /> : null}
      {saved ? <Alert severity="success">Traffic saved.</Alert> : null}
      {can('operator') ? (
        <Button type="submit" variant="contained" sx={{ mt: 1 }}>
          Save traffic
        </Button>
      ) : null}
    </Paper>
  );
}

function LiveStats() {
  const stats = useApi<{ process: string; items: VersionStats[] }>(
    '/api/v1/models/stats',
    undefined,
    5000,
  );
  return (
    <Paper sx={{ p: 2, mb: 3 }}>
      <Typography variant="h6" component="h2">
        Live figures per version
      </Typography>
      <Remote
        state={stats}
        isEmpty={(d) => d.items.length === 0}
        empty="No version has served a request yet."
      >
        {(d) => (
          <TableContainer>
            <Table
              size="small"
              aria-label="Live figures per version"
              sx={{ minWidth: 860, '& td, & th': { whiteSpace: 'nowrap' } }}
            >
              <TableHead>
                <TableRow>
                  <TableCell>Version</TableCell>
                  <TableCell>Requests</TableCell>
                  <TableCell>p50 / p95 / p99</TableCell>
                  <TableCell>Unknown</TableCell>
                  <TableCell>Mean conf.</TableCell>
                  <TableCell>Cache hits</TableCell>
                  <TableCell>Shadow agreement</TableCell>
                  <TableCell>Feedback accuracy</TableCell>
                  <TableCell>Drift</TableCell>
                </TableRow>
              </TableHead>
              <TableBody>
                {d.items.map((s) => (
                  <TableRow key={`${s.name}-${s.version}`}>
                    <TableCell>
                      {s.name} v{s.version}
                    </TableCell>
                    <TableCell>
                      {s.requests}
                      {s.errors ? ` (${s.errors} errors)` : ''}
                    </TableCell>
                    <TableCell>
                      {ms(s.latency_ms.p50)} / {ms(s.latency_ms.p95)} / {ms(s.latency_ms.p99)}
                    </TableCell>
                    <TableCell>{pct(s.unknown_rate)}</TableCell>
                    <TableCell>{pct(s.confidence.mean)}</TableCell>
                    <TableCell>{pct(s.cache_hit_ratio)}</TableCell>
                    <TableCell>
                      {s.shadow.compared
                        ? `${pct(s.shadow.agreement)} of ${s.shadow.compared}`
                        : '—'}
                    </TableCell>
                    <TableCell>
                      {s.feedback.count
                        ? `${pct(s.feedback.accuracy)} of ${s.feedback.count}`
                        : '—'}
                    </TableCell>
                    <TableCell>
                      {s.drift ? (
                        <Chip
                          size="small"
                          color={s.drift.drifted ? 'error' : 'success'}
                          label={s.drift.drifted ? 'drifted' : 'stable'}
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
        )}
      </Remote>
    </Paper>
  );
}

function Jobs({ model, versions }: { model: string; versions: ModelVersion[] }) {
  const { can } = useSession();
  const [kind, setKind] = useState<'train' | 'evaluate'>('evaluate');
  const [dataDir, setDataDir] = useState('fish-species/val');
  const [trainDir, setTrainDir] = useState('fish-species/train');
  const [newName, setNewName] = useState(model);
  const [version, setVersion] = useState('');
  const [taskId, setTaskId] = useState<string>();
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  if (!can('operator')) return null;

  const start = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const res =
        kind === 'evaluate'
          ? await api<{ task_id: string }>(`/api/v1/models/${model}/evaluate`, {
              method: 'POST',
              body: { data_dir: dataDir, ...(version ? { version: Number(version) } : {}) },
            })
          : await api<{ task_id: string }>('/api/v1/models/train', {
              method: 'POST',
              body: {
                task: model === 'health' ? 'health' : 'species',
                name: newName,
                data_dir: trainDir,
                val_dir: dataDir || undefined,
                alias: 'challenger',
              },
            });
      setTaskId(res.task_id);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Paper
      component="form"
      onSubmit={start}
      sx={{ p: 2, mb: 3 }}
      aria-label="Training and evaluation"
    >
      <Typography variant="h6" component="h2" sx={{ mb: 2 }}>
        Train or evaluate
      </Typography>
      <Box
        sx={{ display: 'grid', gap: 2, gridTemplateColumns: { xs: '1fr', md: 'repeat(4, 1fr)' } }}
      >
        <TextField
          select
          size="small"
          label="Job"
          value={kind}
          onChange={(e) => setKind(e.target.value as 'train' | 'evaluate')}
        >
          <MenuItem value="evaluate">Evaluate a version</MenuItem>
          <MenuItem value="train">Train a new version</MenuItem>
        </TextField>
        {kind === 'evaluate' ? (
          <TextField
            select
            size="small"
            label="Version"
            value={version}
            onChange={(e) => setVersion(e.target.value)}
          >
            <MenuItem value="">Champion</MenuItem>
            {versions.map((v) => (
              <MenuItem key={v.version} value={String(v.version)}>
                v{v.version}
              </MenuItem>
            ))}
          </TextField>
        ) : (
          <>
            <TextField
              size="small"
              label="Model name"
              value={newName}
              onChange={(e) => setNewName(e.target.value)}
            />
            <TextField
              size="small"
              label="Training images folder"
              value={trainDir}
              onChange={(e) => setTrainDir(e.target.value)}
            />
          </>
        )}
        <TextField
          size="small"
          label="Validation images folder"
          value={dataDir}
          onChange={(e) => setDataDir(e.target.value)}
        />
      </Box>
      {error ? <ErrorState error={error} /> : null}
      <Button type="submit" variant="contained" sx={{ mt: 2 }} disabled={busy}>
        {kind === 'evaluate' ? 'Start evaluation' : 'Start training'}
      </Button>
      {busy ? <Loading label="Starting" /> : null}
      {taskId ? <TaskProgress taskId={taskId} /> : null}
    </Paper>
  );
}
