import type { FastifyError, FastifyInstance } from 'fastify';
import { badRequest, conflict, forbidden, notFound } from '../../http/errors.ts';
import { sendProblem, toProblem } from '../../http/problem.ts';

/** A farm, unit, device or log the caller cannot see: absent, or on a farm they are not a member of. */
export class FarmEntityNotFoundError extends Error {
  constructor(
    readonly entity: 'farm' | 'unit' | 'device' | 'log' | 'member' | 'user',
    readonly id: string,
  ) {
    super(`No ${entity} ${id}`);
    this.name = 'FarmEntityNotFoundError';
  }
}

/** A member whose farm role does not allow the action. */
export class FarmRoleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FarmRoleError';
  }
}

/** Input that is well-formed but wrong for this farm (unknown species, missing log field ...). */
export class FarmInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'FarmInputError';
  }
}

export class FarmConflictError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'FarmConflictError';
  }
}

/** Maps this module's errors to HTTP problems; anything else passes through. */
export function farmsToHttp(err: unknown): never {
  if (err instanceof FarmEntityNotFoundError) throw notFound(err.message);
  if (err instanceof FarmRoleError) throw forbidden(err.message);
  if (err instanceof FarmInputError) throw badRequest(err.message, err.field);
  if (err instanceof FarmConflictError) throw conflict(err.message, err.field);
  throw err;
}

/**
 * Makes the routes of one plugin answer this module's errors as problems (RFC 9457); the
 * handler is encapsulated, so other plugins keep the app's own.
 */
export function useFarmErrors(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    let mapped: FastifyError | Error = err;
    try {
      farmsToHttp(err);
    } catch (e) {
      mapped = e as Error;
    }
    const { problem, headers } = toProblem(mapped, request);
    if (problem.status >= 500) request.log.error({ err }, 'request failed');
    return sendProblem(reply, problem, headers);
  });
}
