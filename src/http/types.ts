import type { Role } from '../db/schema.ts';
import type { Principal } from '../modules/auth/authenticator.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on routes that need credentials. */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** 'public' needs no credentials; a role is the minimum role that may call the route. */
    auth?: 'public' | Role;
    /** The multipart form fields of an upload route, for the OpenAPI document only. */
    multipart?: object;
  }
}

export {};
