import type { Role } from '../db/schema.ts';

// The request's `principal` is declared by the auth plugin (modules/auth/plugin.ts), which sets it.
declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * 'public' needs no credentials; a role is the minimum role that may call the route;
     * 'monitoring' (metrics, detailed health) takes an admin or the metrics token (SECURITY.md);
     * 'device' takes a device API key only.
     */
    auth?: 'public' | 'monitoring' | Role | 'device';
    /** The multipart form fields of an upload route, for the OpenAPI document only. */
    multipart?: object;
  }
}

export {};
