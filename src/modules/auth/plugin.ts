import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Role } from '../../db/schema.ts';
import { forbidden, tooManyRequests, unauthorized } from '../../http/errors.ts';
import '../../http/types.ts';
import {
  AuthenticationError,
  type Authenticator,
  hasRole,
  type Principal,
} from './authenticator.ts';
import type { CredentialFailures } from './credential-failures.ts';
import type { DeviceActor } from './device.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on routes that need credentials. */
    principal: Principal | null;
  }
}

type Required = 'public' | 'monitoring' | 'device' | Role;

/** Routes outside /api are public unless they say otherwise; API routes need a viewer at least. */
function requiredRole(url: string, declared: Required | undefined): Required {
  if (declared) return declared;
  return url.startsWith('/api/') || url.startsWith('/v2/') ? 'viewer' : 'public';
}

export interface MonitoringAccess {
  /** A bearer token for scrapers, besides an admin's credentials. */
  token?: string;
  /** No credentials at all (a network that isolates these routes). */
  public: boolean;
}

function isMonitoringToken(header: string | undefined, token: string | undefined): boolean {
  if (!token || !header) return false;
  const given = createHash('sha256').update(header).digest();
  const expected = createHash('sha256').update(`Bearer ${token}`).digest();
  return timingSafeEqual(given, expected);
}

export const authPlugin = fp(
  async (
    app: FastifyInstance,
    opts: {
      authenticator: Authenticator;
      credentialFailures: CredentialFailures;
      monitoring: MonitoringAccess;
    },
  ) => {
    app.decorateRequest('principal', null);

    app.addHook('onRoute', (route) => {
      const config = (route.config ?? {}) as { auth?: Required };
      const required = requiredRole(route.url, config.auth);
      route.config = { ...config, auth: required };
      if (required !== 'public') {
        route.schema = {
          ...route.schema,
          security: required === 'device' ? [{ apiKey: [] }] : [{ bearerAuth: [] }, { apiKey: [] }],
        };
      }
    });

    app.addHook('onRequest', async (request) => {
      let required = request.routeOptions.config?.auth ?? 'public';
      if (required === 'monitoring') {
        if (opts.monitoring.public) return;
        if (isMonitoringToken(request.headers.authorization, opts.monitoring.token)) return;
        required = 'admin';
      }
      if (required === 'public') return;
      let principal: Principal | undefined;
      const presented = Boolean(request.headers.authorization || request.headers['x-api-key']);
      if (presented) {
        // Checked before the credentials: an address that keeps guessing is refused unheard.
        const blockedMs = await opts.credentialFailures.blockedFor(request.ip);
        if (blockedMs > 0) {
          throw tooManyRequests(
            'Too many wrong tokens or API keys from this address; wait before trying again',
            blockedMs / 1000,
          );
        }
      }
      try {
        principal = await opts.authenticator.authenticate(request.headers);
      } catch (err) {
        if (err instanceof AuthenticationError) {
          await opts.credentialFailures.record(request.ip);
          throw unauthorized(err.message);
        }
        throw err;
      }
      if (!principal) {
        throw unauthorized('Send "Authorization: Bearer <access token>" or "X-API-Key: <key>"');
      }
      request.principal = principal;
      request.log = request.log.child({ user: principal.name, user_id: principal.id });
      // A device key speaks only for its device: it reaches the routes declared for devices.
      if (required === 'device' || principal.kind === 'device') {
        if (required !== 'device') throw forbidden('A device key may only call device routes');
        if (principal.kind !== 'device') throw forbidden('This route takes a device API key');
        return;
      }
      if (!hasRole(principal, required)) {
        throw forbidden(`This action needs the ${required} role; you are ${principal.role}`);
      }
    });
  },
  { name: 'aquaml-auth' },
);

/** The principal of an authenticated route (the auth hook guarantees it is set). */
export function principalOf(request: { principal: Principal | null }): Principal {
  if (!request.principal) throw unauthorized();
  return request.principal;
}

/** The device of a route declared with `auth: 'device'` (the auth hook guarantees it). */
export function deviceOf(request: { principal: Principal | null }): DeviceActor {
  const device = request.principal?.device;
  if (!device) throw unauthorized('Send the device API key in X-API-Key');
  return device;
}
