import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Role } from '../../db/schema.ts';
import {
  AuthenticationError,
  type Authenticator,
  hasRole,
  type Principal,
} from '../../modules/auth/authenticator.ts';
import { forbidden, unauthorized } from '../errors.ts';
import '../types.ts';

/** Routes outside /api are public unless they say otherwise; API routes need a viewer at least. */
function requiredRole(url: string, declared: 'public' | Role | undefined): 'public' | Role {
  if (declared) return declared;
  return url.startsWith('/api/') || url.startsWith('/v2/') ? 'viewer' : 'public';
}

export const authPlugin = fp(
  async (app: FastifyInstance, opts: { authenticator: Authenticator }) => {
    app.decorateRequest('principal', null);

    app.addHook('onRoute', (route) => {
      const config = (route.config ?? {}) as { auth?: 'public' | Role };
      const required = requiredRole(route.url, config.auth);
      route.config = { ...config, auth: required };
      if (required !== 'public') {
        route.schema = {
          ...route.schema,
          security: [{ bearerAuth: [] }, { apiKey: [] }],
        };
      }
    });

    app.addHook('onRequest', async (request) => {
      const required = request.routeOptions.config?.auth ?? 'public';
      if (required === 'public') return;
      let principal: Principal | undefined;
      try {
        principal = await opts.authenticator.authenticate(request.headers);
      } catch (err) {
        if (err instanceof AuthenticationError) throw unauthorized(err.message);
        throw err;
      }
      if (!principal) {
        throw unauthorized('Send "Authorization: Bearer <access token>" or "X-API-Key: <key>"');
      }
      request.principal = principal;
      request.log = request.log.child({ user: principal.name, user_id: principal.id });
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
