import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where `npm install` (scripts/build-web.mjs) writes the dashboard. */
export const DASHBOARD_DIR = resolve(import.meta.dirname, '..', '..', '..', 'web', 'dist');

/** Paths that belong to the API; anything else is the dashboard's (client-side routes). */
const API_PATHS = /^\/(api|docs|metrics|health|ready|live|v2)(\/|$|\?)/;

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>AquaML</title>
<body style="font-family:sans-serif;margin:3rem"><h1>AquaML</h1>
<p>The dashboard has not been built. Run <code>npm run build:web</code> (npm install does it) and
restart. The API is at <a href="/docs">/docs</a>.</p></body></html>`;

/**
 * Serves the built React dashboard at `/`: hashed assets with a long cache, and index.html (never
 * cached, so a new build is picked up) for every other non-API GET, as client-side routes need.
 * The page is served from the not-found path (see `dashboardPage`), not by a catch-all route, so
 * each API prefix keeps its own 404 (KServe's `{error}` under /v2, problem+json elsewhere).
 */
export async function dashboard(app: FastifyInstance, dir = DASHBOARD_DIR): Promise<DashboardPage> {
  const built = existsSync(join(dir, 'index.html'));
  if (built) {
    await app.register(fastifyStatic, {
      root: dir,
      prefix: '/',
      wildcard: false,
      index: false,
      setHeaders: (reply, path) => {
        reply.header(
          'cache-control',
          path.includes(`${join(dir, 'assets')}`)
            ? 'public, max-age=31536000, immutable'
            : 'no-cache',
        );
      },
    });
  }
  const send = (reply: FastifyReply) => {
    reply.header('cache-control', 'no-cache');
    return built ? reply.sendFile('index.html') : reply.type('text/html').send(NOT_BUILT);
  };
  app.get('/', { schema: { hide: true } }, (_request, reply) => send(reply));
  return (request, reply) =>
    request.method === 'GET' && !API_PATHS.test(request.url) ? send(reply) : undefined;
}

/** Answers a non-API GET that no route matched with the dashboard's page; undefined otherwise. */
export type DashboardPage = (
  request: FastifyRequest,
  reply: FastifyReply,
) => FastifyReply | undefined;
