import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import MenuItem from '@mui/material/MenuItem';
import Paper from '@mui/material/Paper';
import Tab from '@mui/material/Tab';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableContainer from '@mui/material/TableContainer';
import TableHead from '@mui/material/TableHead';
import TablePagination from '@mui/material/TablePagination';
import TableRow from '@mui/material/TableRow';
import Tabs from '@mui/material/Tabs';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import { useState, type FormEvent } from 'react';
import { api, type Role } from '../api/client.ts';
import type { ApiKey, AuditEntry, Page, User } from '../api/types.ts';
import { useApi } from '../api/useApi.ts';
import { useSession } from '../auth.tsx';
import { ErrorState, PageTitle, Remote } from '../components/states.tsx';
import { when } from '../format.ts';

const ROLES: Role[] = ['viewer', 'operator', 'admin'];

export default function Admin() {
  const [tab, setTab] = useState(0);
  return (
    <>
      <PageTitle>Admin</PageTitle>
      <Tabs
        value={tab}
        onChange={(_, v) => setTab(v as number)}
        sx={{ mb: 2 }}
        variant="scrollable"
      >
        <Tab label="Users" />
        <Tab label="API keys" />
        <Tab label="Audit log" />
      </Tabs>
      {tab === 0 ? <Users /> : tab === 1 ? <Keys /> : <Audit />}
    </>
  );
}

function Users() {
  const { user: me } = useSession();
  const users = useApi<Page<User>>('/api/v1/users', { limit: 200 });
  const [error, setError] = useState<Error>();
  const [form, setForm] = useState({
    username: '',
    email: '',
    password: '',
    role: 'viewer' as Role,
  });
  const [created, setCreated] = useState<string>();

  const patch = async (id: string, body: Partial<Pick<User, 'role' | 'is_active'>>) => {
    setError(undefined);
    try {
      await api(`/api/v1/users/${id}`, { method: 'PATCH', body });
      users.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  const create = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setCreated(undefined);
    try {
      const u = await api<User>('/api/v1/users', { method: 'POST', body: form });
      setCreated(u.username);
      setForm({ username: '', email: '', password: '', role: 'viewer' });
      users.reload();
    } catch (err) {
      setError(err as Error);
    }
  };

  return (
    <>
      {error ? <ErrorState error={error} /> : null}
      <Remote state={users}>
        {(d) => (
          <Paper sx={{ mb: 3 }}>
            <TableContainer>
              <Table size="small" aria-label="Users">
                <TableHead>
                  <TableRow>
                    <TableCell>User</TableCell>
                    <TableCell>Role</TableCell>
                    <TableCell>Status</TableCell>
                    <TableCell sx={{ display: { xs: 'none', md: 'table-cell' } }}>
                      Last sign-in
                    </TableCell>
                  </TableRow>
                </TableHead>
                <TableBody>
                  {d.items.map((u) => (
                    <TableRow key={u.id}>
                      <TableCell>
                        {u.username}
                        <Box
                          component="span"
                          sx={{ display: 'block', fontSize: 12, color: 'text.secondary' }}
                        >
                          {u.email}
                        </Box>
                      </TableCell>
                      <TableCell>
                        <TextField
                          select
                          size="small"
                          value={u.role}
                          disabled={u.id === me?.id}
                          onChange={(e) => void patch(u.id, { role: e.target.value as Role })}
                          slotProps={{ htmlInput: { 'aria-label': `Role of ${u.username}` } }}
                        >
                          {ROLES.map((r) => (
                            <MenuItem key={r} value={r}>
                              {r}
                            </MenuItem>
                          ))}
                        </TextField>
                      </TableCell>
                      <TableCell>
                        <Button
                          size="small"
                          color={u.is_active ? 'warning' : 'success'}
                          disabled={u.id === me?.id}
                          onClick={() => void patch(u.id, { is_active: !u.is_active })}
                        >
                          {u.is_active ? `Disable ${u.username}` : `Enable ${u.username}`}
                        </Button>
                      </TableCell>
                      <TableCell sx={{ display: { xs: 'none', md: 'table-cell' } }}>
                        {when(u.last_login_at)}
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            </TableContainer>
          </Paper>
        )}
      </Remote>
      <Paper component="form" onSubmit={create} sx={{ p: 2 }} aria-label="New user">
        <Typography variant="h6" component="h2" sx={{ mb: 2 }}>
          New user
        </Typography>
        {created ? (
          <Alert severity="success" sx={{ mb: 2 }}>
            Created {created}.
          </Alert>
        ) : null}
        <Box
          sx={{ display: 'grid', gap: 2, gridTemplateColumns: { xs: '1fr', md: 'repeat(4, 1fr)' } }}
        >
          <TextField
            size="small"
            label="New username"
            value={form.username}
            onChange={(e) => setForm({ ...form, username: e.target.value })}
            required
          />
          <TextField
            size="small"
            label="Email"
            type="email"
            value={form.email}
            onChange={(e) => setForm({ ...form, email: e.target.value })}
            required
          />
          <TextField
            size="small"
            label="Initial password"
            type="password"
            value={form.password}
            onChange={(e) => setForm({ ...form, password: e.target.value })}
            required
            autoComplete="new-password"
          />
          <TextField
            select
            size="small"
            label="Role"
            value={form.role}
            onChange={(e) => setForm({ ...form, role: e.target.value as Role })}
          >
            {ROLES.map((r) => (
              <MenuItem key={r} value={r}>
                {r}
              </MenuItem>
            ))}
          </TextField>
        </Box>
        <Button type="submit" variant="contained" sx={{ mt: 2 }}>
          Create user
        </Button>
      </Paper>
    </>
  );
}

function Keys() {
  const keys = useApi<{ items: ApiKey[] }>('/api/v1/api-keys');
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('operator');
  const [secret, setSecret] = useState<ApiKey>();
  const [error, setError] = useState<Error>();

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    try {
      setSecret(await api<ApiKey>('/api/v1/api-keys', { method: 'POST', body: { name, role } }));
      setName('');
      keys.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  const revoke = async (id: string) => {
    setError(undefined);
    try {
      await api(`/api/v1/api-keys/${id}`, { method: 'DELETE' });
      keys.reload();
    } catch (err) {
      setError(err as Error);
    }
  };

  return (
    <>
      <Paper component="form" onSubmit={create} sx={{ p: 2, mb: 3 }} aria-label="New API key">
        <Typography variant="h6" component="h2" sx={{ mb: 2 }}>
          New API key
        </Typography>
        <Box
          sx={{ display: 'grid', gap: 2, gridTemplateColumns: { xs: '1fr', md: '2fr 1fr auto' } }}
        >
          <TextField
            size="small"
            label="Key name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            placeholder="camera tank 3"
          />
          <TextField
            select
            size="small"
            label="Key role"
            value={role}
            onChange={(e) => setRole(e.target.value as Role)}
          >
            {ROLES.map((r) => (
              <MenuItem key={r} value={r}>
                {r}
              </MenuItem>
            ))}
          </TextField>
          <Button type="submit" variant="contained">
            Create key
          </Button>
        </Box>
        {secret?.key ? (
          <Alert severity="warning" sx={{ mt: 2 }} onClose={() => setSecret(undefined)}>
            Copy the key for <strong>{secret.name}</strong> now: it is shown once and never again.
            <Box
              component="code"
              sx={{ display: 'block', mt: 1, wordBreak: 'break-all', userSelect: 'all' }}
            >
              {secret.key}
            </Box>
          </Alert>
        ) : null}
      </Paper>
      {error ? <ErrorState error={error} /> : null}
      <Remote state={keys} isEmpty={(d) => d.items.length === 0} empty="No API keys yet.">
        {(d) => (
          <Paper>
            <TableContainer>
              <Table size="small" aria-label="API keys">
                <TableHead>
                  <TableRow>
                    <TableCell>Name</TableCell>
                    <TableCell>Prefix</TableCell>
                    <TableCell>Role</TableCell>
                    <TableCell sx={{ display: { xs: 'none', md: 'table-cell' } }}>
                      Last used
                    </TableCell>
                    <TableCell>Status</TableCell>
                  </TableRow>
                </TableHead>
                <TableBody>
                  {d.items.map((k) => (
                    <TableRow key={k.id}>
                      <TableCell>{k.name}</TableCell>
                      <TableCell>
                        <code>{k.prefix}…</code>
                      </TableCell>
                      <TableCell>{k.role}</TableCell>
                      <TableCell sx={{ display: { xs: 'none', md: 'table-cell' } }}>
                        {when(k.last_used_at)}
                      </TableCell>
                      <TableCell>
                        {k.revoked_at ? (
                          <Chip size="small" label="revoked" />
                        ) : (
                          <Button size="small" color="warning" onClick={() => void revoke(k.id)}>
                            Revoke {k.name}
                          </Button>
                        )}
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            </TableContainer>
          </Paper>
        )}
      </Remote>
    </>
  );
}

const AUDIT_FILTERS = { actor: '', action: '', outcome: '', target_type: '', from: '', to: '' };

function Audit() {
  const [page, setPage] = useState(0);
  const [filters, setFilters] = useState(AUDIT_FILTERS);
  const audit = useApi<Page<AuditEntry>>('/api/v1/audit', {
    limit: 25,
    offset: page * 25,
    actor: filters.actor.trim() || undefined,
    action: filters.action.trim() || undefined,
    outcome: filters.outcome || undefined,
    target_type: filters.target_type.trim() || undefined,
    // Whole days in UTC, both ends included.
    from: filters.from ? `${filters.from}T00:00:00.000Z` : undefined,
    to: filters.to ? `${filters.to}T23:59:59.999Z` : undefined,
  });
  const set = (key: keyof typeof AUDIT_FILTERS) => (value: string) => {
    setFilters((f) => ({ ...f, [key]: value }));
    setPage(0);
  };
  const field = (key: keyof typeof AUDIT_FILTERS, label: string, placeholder?: string) => (
    <TextField
      size="small"
      label={label}
      placeholder={placeholder}
      value={filters[key]}
      onChange={(e) => set(key)(e.target.value)}
    />
  );
  const date = (key: 'from' | 'to', label: string) => (
    <TextField
      size="small"
      type="date"
      label={label}
      value={filters[key]}
      onChange={(e) => set(key)(e.target.value)}
      slotProps={{ inputLabel: { shrink: true } }}
    />
  );
  return (
    <>
      <Box
        role="search"
        aria-label="Audit filters"
        sx={{ display: 'flex', flexWrap: 'wrap', gap: 2, mb: 2 }}
      >
        {field('actor', 'Actor', 'username or id')}
        {field('action', 'Action', 'model.alias_moved or model.')}
        <TextField
          select
          size="small"
          label="Outcome"
          value={filters.outcome}
          onChange={(e) => set('outcome')(e.target.value)}
          sx={{ minWidth: 130 }}
        >
          <MenuItem value="">any</MenuItem>
          <MenuItem value="success">success</MenuItem>
          <MenuItem value="failure">failure</MenuItem>
        </TextField>
        {field('target_type', 'Target type', 'model')}
        {date('from', 'From')}
        {date('to', 'To')}
      </Box>
      <Remote state={audit} isEmpty={(d) => d.items.length === 0} empty="No audit events match.">
        {(d) => (
          <Paper>
            <TableContainer>
              <Table size="small" aria-label="Audit log">
                <TableHead>
                  <TableRow>
                    <TableCell>When</TableCell>
                    <TableCell>Action</TableCell>
                    <TableCell>Actor</TableCell>
                    <TableCell sx={{ display: { xs: 'none', md: 'table-cell' } }}>Target</TableCell>
                    <TableCell sx={{ display: { xs: 'none', md: 'table-cell' } }}>
                      Details
                    </TableCell>
                  </TableRow>
                </TableHead>
                <TableBody>
                  {d.items.map((e) => (
                    <TableRow key={e.id}>
                      <TableCell>{when(e.created_at)}</TableCell>
                      <TableCell>
                        {e.action}
                        {e.outcome !== 'success' ? (
                          <Chip size="small" color="error" label={e.outcome} sx={{ ml: 1 }} />
                        ) : null}
                      </TableCell>
                      <TableCell>
                        {e.actor.name ?? e.actor.user_id ?? e.actor.api_key_id ?? '—'}
                        {e.actor.ip ? (
                          <Typography variant="caption" color="text.secondary" component="div">
                            {e.actor.ip}
                          </Typography>
                        ) : null}
                      </TableCell>
                      <TableCell sx={{ display: { xs: 'none', md: 'table-cell' } }}>
                        {e.target ? `${e.target.type ?? ''} ${e.target.id ?? ''}`.trim() : '—'}
                      </TableCell>
                      <TableCell
                        sx={{
                          display: { xs: 'none', md: 'table-cell' },
                          fontSize: 12,
                          maxWidth: 360,
                          overflowWrap: 'anywhere',
                        }}
                      >
                        {Object.keys(e.details).length ? JSON.stringify(e.details) : ''}
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            </TableContainer>
            <TablePagination
              component="div"
              count={d.total}
              page={page}
              onPageChange={(_, n) => setPage(n)}
              rowsPerPage={25}
              rowsPerPageOptions={[25]}
            />
          </Paper>
        )}
      </Remote>
    </>
  );
}
