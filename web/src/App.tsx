import { lazy, type ReactNode } from 'react';
import { BrowserRouter, Navigate, Route, Routes, useLocation } from 'react-router';
import type { Role } from './api/client.ts';
import { useSession } from './auth.tsx';
import { Layout } from './components/Layout.tsx';
import { Loading } from './components/states.tsx';
import { SignIn } from './pages/SignIn.tsx';

// Route-level code splitting: the first page carries only the shell and the sign-in form.
const Classify = lazy(() => import('./pages/Classify.tsx'));
const History = lazy(() => import('./pages/History.tsx'));
const Models = lazy(() => import('./pages/Models.tsx'));
const Tasks = lazy(() => import('./pages/Tasks.tsx'));
const Farms = lazy(() => import('./pages/Farms.tsx'));
const UnitPage = lazy(() => import('./pages/Unit.tsx'));
const Alerts = lazy(() => import('./pages/Alerts.tsx'));
const System = lazy(() => import('./pages/System.tsx'));
const Admin = lazy(() => import('./pages/Admin.tsx'));

function Guard({ role, children }: { role: Role; children: ReactNode }) {
  const { user, restoring, can } = useSession();
  const location = useLocation();
  if (restoring) return <Loading label="Restoring session" />;
  if (!user) return <Navigate to="/signin" replace state={{ from: location.pathname }} />;
  if (!can(role)) return <Navigate to="/classify" replace />;
  return children;
}

export function App() {
  return (
    <BrowserRouter>
      <Routes>
        <Route path="/signin" element={<SignIn />} />
        <Route
          element={
            <Guard role="viewer">
              <Layout />
            </Guard>
          }
        >
          <Route path="/classify" element={<Classify />} />
          <Route path="/history" element={<History />} />
          <Route path="/models" element={<Models />} />
          <Route path="/tasks" element={<Tasks />} />
          <Route path="/farms" element={<Farms />} />
          <Route path="/farms/:farmId/units/:unitId" element={<UnitPage />} />
          <Route path="/alerts" element={<Alerts />} />
          <Route path="/system" element={<System />} />
          <Route
            path="/admin"
            element={
              <Guard role="admin">
                <Admin />
              </Guard>
            }
          />
          <Route path="*" element={<Navigate to="/classify" replace />} />
        </Route>
      </Routes>
    </BrowserRouter>
  );
}
