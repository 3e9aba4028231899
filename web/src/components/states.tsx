import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import CircularProgress from '@mui/material/CircularProgress';
import Typography from '@mui/material/Typography';
import type { ReactNode } from 'react';

export function Loading({ label = 'Loading' }: { label?: string }) {
  return (
    <Box role="status" sx={{ display: 'flex', alignItems: 'center', gap: 2, p: 3 }}>
      <CircularProgress size={24} aria-label={label} />
      <Typography color="text.secondary">{label}…</Typography>
    </Box>
  );
}

export function ErrorState({ error, onRetry }: { error: Error; onRetry?: () => void }) {
  return (
    <Alert
      severity="error"
      sx={{ my: 2 }}
      action={
        onRetry ? (
          <Button color="inherit" size="small" onClick={onRetry}>
            Retry
          </Button>
        ) : undefined
      }
    >
      {/^No route for GET (\/[^?\s]*)/.test(error.message)
        ? `This server does not offer this yet (${/^No route for GET (\/[^?\s]*)/.exec(error.message)![1]}).`
        : error.message}
    </Alert>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <Box sx={{ p: 3, textAlign: 'center', color: 'text.secondary' }}>
      <Typography>{children}</Typography>
    </Box>
  );
}

/** Renders loading, error or empty states around content, the same way on every page. */
export function Remote<T>({
  state,
  empty,
  isEmpty,
  children,
}: {
  state: { data: T | undefined; error: Error | undefined; loading: boolean; reload: () => void };
  empty?: ReactNode;
  isEmpty?: (data: T) => boolean;
  children: (data: T) => ReactNode;
}) {
  if (state.loading && state.data === undefined) return <Loading />;
  if (state.error && state.data === undefined)
    return <ErrorState error={state.error} onRetry={state.reload} />;
  if (state.data === undefined) return null;
  if (empty && isEmpty?.(state.data)) return <Empty>{empty}</Empty>;
  return (
    <>
      {state.error ? <ErrorState error={state.error} onRetry={state.reload} /> : null}
      {children(state.data)}
    </>
  );
}

export function PageTitle({ children, action }: { children: ReactNode; action?: ReactNode }) {
  return (
    <Box
      sx={{
        display: 'flex',
        alignItems: 'center',
        justifyContent: 'space-between',
        gap: 2,
        mb: 2,
        flexWrap: 'wrap',
      }}
    >
      <Typography variant="h5" component="h1">
        {children}
      </Typography>
      {action}
    </Box>
  );
}
