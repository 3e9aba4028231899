import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import {
  api,
  hasSession,
  login,
  logout,
  onSessionChange,
  refresh,
  type Role,
} from './api/client.ts';
import type { User } from './api/types.ts';

interface Session {
  user: User | null;
  /** True until a stored session has been tried at start. */
  restoring: boolean;
  signIn: (username: string, password: string) => Promise<void>;
  signOut: () => Promise<void>;
  can: (role: Role) => boolean;
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null>(null);
  const [restoring, setRestoring] = useState(hasSession());

  useEffect(() => {
    const off = onSessionChange((signedIn) => {
      if (!signedIn) setUser(null);
    });
    if (hasSession()) {
      // A reload keeps the tab's refresh token: trade it for a new access token.
      void refresh()
        .then(async (ok) => (ok ? setUser(await api<User>('/api/v1/auth/me')) : undefined))
        .catch(() => setUser(null))
        .finally(() => setRestoring(false));
    }
    return () => {
      off();
    };
  }, []);

  const signIn = useCallback(async (username: string, password: string) => {
    await login(username, password);
    setUser(await api<User>('/api/v1/auth/me'));
  }, []);
  const signOut = useCallback(async () => {
    await logout();
    setUser(null);
  }, []);
  const can = useCallback((role: Role) => !!user && RANK[user.role] >= RANK[role], [user]);

  const value = useMemo(
    () => ({ user, restoring, signIn, signOut, can }),
    [user, restoring, signIn, signOut, can],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}
