/**
 * The one door to the API. The access token lives in this module's memory only (gone on reload);
 * the refresh token lives in sessionStorage (this tab only, gone when the tab closes), is rotated on
 * every refresh, and the server revokes the whole session when an old one is replayed.
 */
export type Role = 'admin' | 'operator' | 'viewer';

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  errors?: { field?: string; message?: string }[];
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
  }
  get status(): number {
    return this.problem.status;
  }
}

interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

const REFRESH_KEY = 'aquaml.refresh';
let accessToken: string | null = null;
let accessExpiresAt = 0;
let refreshing: Promise<boolean> | null = null;
const listeners = new Set<(signedIn: boolean) => void>();

export function onSessionChange(listener: (signedIn: boolean) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function setTokens(tokens: Tokens | null): void {
  if (tokens) {
    accessToken = tokens.access_token;
    // Refresh a little early so a request never leaves with a token about to expire.
    accessExpiresAt = Date.now() + Math.max(10, tokens.expires_in - 30) * 1000;
    sessionStorage.setItem(REFRESH_KEY, tokens.refresh_token);
  } else {
    accessToken = null;
    accessExpiresAt = 0;
    sessionStorage.removeItem(REFRESH_KEY);
  }
  for (const l of listeners) l(tokens !== null);
}

export function hasSession(): boolean {
  return sessionStorage.getItem(REFRESH_KEY) !== null;
}

async function readProblem(res: Response): Promise<Problem> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as Problem;
    return { ...body, status: res.status };
  } catch {
    return { status: res.status, title: res.statusText, detail: text.slice(0, 200) || undefined };
  }
}

export async function login(username: string, password: string): Promise<void> {
  const res = await fetch('/api/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!res.ok) throw new ApiError(await readProblem(res));
  setTokens((await res.json()) as Tokens);
}

/** Trades the stored refresh token for new tokens; one refresh at a time for all callers. */
export function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    const token = sessionStorage.getItem(REFRESH_KEY);
    if (!token) return false;
    try {
      const res = await fetch('/api/v1/auth/refresh', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh_token: token }),
      });
      if (!res.ok) {
        setTokens(null);
        return false;
      }
      setTokens((await res.json()) as Tokens);
      return true;
    } catch {
      return false;
    }
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

export async function logout(): Promise<void> {
  const token = sessionStorage.getItem(REFRESH_KEY);
  try {
    if (accessToken && token) {
      await fetch('/api/v1/auth/logout', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
        body: JSON.stringify({ refresh_token: token }),
      });
    }
  } finally {
    setTokens(null);
  }
}

async function authHeader(): Promise<Record<string, string>> {
  if (!accessToken || Date.now() >= accessExpiresAt) await refresh();
  return accessToken ? { authorization: `Bearer ${accessToken}` } : {};
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined | null>;
  signal?: AbortSignal;
}

export function withQuery(path: string, query?: RequestOptions['query']): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/** An authenticated request; retried once after a refresh when the token was refused. */
export async function request(path: string, options: RequestOptions = {}): Promise<Response> {
  const send = async () => {
    const headers: Record<string, string> = await authHeader();
    let body: BodyInit | undefined;
    if (options.body instanceof FormData) body = options.body;
    else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    return fetch(withQuery(path, options.query), {
      method: options.method ?? 'GET',
      headers,
      body,
      signal: options.signal,
    });
  };
  let res = await send();
  if (res.status === 401 && (await refresh())) res = await send();
  if (res.status === 401) setTokens(null);
  if (!res.ok) throw new ApiError(await readProblem(res));
  return res;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const res = await request(path, options);
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? await res.json() : await res.text()) as T;
}
