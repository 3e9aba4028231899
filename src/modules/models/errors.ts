import { badRequest, conflict, notFound } from '../../http/errors.ts';
import { RegistryError } from './registry.ts';

/** Maps registry failures to 404/409/400. */
export function registryToHttp(err: unknown): never {
  if (err instanceof RegistryError) {
    if (err.kind === 'not_found') throw notFound(err.message);
    if (err.kind === 'conflict') throw conflict(err.message);
    throw badRequest(err.message);
  }
  throw err;
}
