import AppBar from '@mui/material/AppBar';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import Drawer from '@mui/material/Drawer';
import IconButton from '@mui/material/IconButton';
import List from '@mui/material/List';
import ListItemButton from '@mui/material/ListItemButton';
import ListItemText from '@mui/material/ListItemText';
import Toolbar from '@mui/material/Toolbar';
import Typography from '@mui/material/Typography';
import useMediaQuery from '@mui/material/useMediaQuery';
import { Suspense, useState } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router';
import type { Role } from '../api/client.ts';
import { useSession } from '../auth.tsx';
import { Loading } from './states.tsx';

const WIDTH = 200;

export const NAV: { to: string; label: string; role: Role }[] = [
  { to: '/classify', label: 'Classify', role: 'viewer' },
  { to: '/history', label: 'History', role: 'viewer' },
  { to: '/models', label: 'Models', role: 'viewer' },
  { to: '/tasks', label: 'Tasks', role: 'viewer' },
  { to: '/farms', label: 'Farms', role: 'viewer' },
  { to: '/alerts', label: 'Alerts', role: 'viewer' },
  { to: '/system', label: 'System', role: 'viewer' },
  { to: '/admin', label: 'Admin', role: 'admin' },
];

export function Layout() {
  const { user, signOut, can } = useSession();
  const wide = useMediaQuery('(min-width:900px)');
  const [open, setOpen] = useState(false);
  const location = useLocation();

  const nav = (
    <Box component="nav" aria-label="Main">
      <List>
        {NAV.filter((n) => can(n.role)).map((n) => (
          <ListItemButton
            key={n.to}
            component={NavLink}
            to={n.to}
            onClick={() => setOpen(false)}
            selected={location.pathname.startsWith(n.to)}
            sx={{ '&.active': { fontWeight: 700 } }}
          >
            <ListItemText primary={n.label} />
          </ListItemButton>
        ))}
      </List>
    </Box>
  );

  return (
    <Box sx={{ display: 'flex', minHeight: '100vh' }}>
      <AppBar position="fixed" sx={{ zIndex: (t) => t.zIndex.drawer + 1 }}>
        <Toolbar sx={{ gap: 1 }}>
          {wide ? null : (
            <IconButton
              color="inherit"
              edge="start"
              aria-label="Open navigation"
              onClick={() => setOpen(true)}
            >
              <Box component="span" aria-hidden sx={{ fontSize: 24, lineHeight: 1 }}>
                ☰
              </Box>
            </IconButton>
          )}
          <Typography variant="h6" component="div" sx={{ flexGrow: 1 }}>
            AquaML
          </Typography>
          {user ? (
            <>
              <Typography variant="body2" sx={{ display: { xs: 'none', sm: 'block' } }}>
                {user.username}
              </Typography>
              <Chip
                label={user.role}
                size="small"
                sx={{ bgcolor: 'rgba(255,255,255,0.2)', color: 'inherit' }}
              />
              <Button color="inherit" onClick={() => void signOut()}>
                Sign out
              </Button>
            </>
          ) : null}
        </Toolbar>
      </AppBar>
      {wide ? (
        <Drawer
          variant="permanent"
          sx={{
            width: WIDTH,
            flexShrink: 0,
            '& .MuiDrawer-paper': { width: WIDTH, boxSizing: 'border-box' },
          }}
        >
          <Toolbar />
          {nav}
        </Drawer>
      ) : (
        <Drawer
          variant="temporary"
          open={open}
          onClose={() => setOpen(false)}
          sx={{ '& .MuiDrawer-paper': { width: WIDTH } }}
        >
          <Toolbar />
          {nav}
        </Drawer>
      )}
      <Box component="main" sx={{ flexGrow: 1, minWidth: 0, p: { xs: 1.5, sm: 3 } }}>
        <Toolbar />
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </Box>
    </Box>
  );
}
