import { conflict, notFound } from '../../http/errors.ts';
import { AlertError } from './service.ts';

/** Maps alert failures to 404 (no such alert, or not yours to see) and 409 (its state forbids it). */
export function alertsToHttp(err: unknown): never {
  if (err instanceof AlertError) {
    if (err.kind === 'not_found') throw notFound(err.message);
    throw conflict(err.message);
  }
  throw err;
}
