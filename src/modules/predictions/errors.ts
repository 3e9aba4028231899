import { HttpError, notFound, serviceUnavailable } from '../../http/errors.ts';
import { ImageInputError } from '../../ml/preprocess.ts';
import { QueueFullError } from '../../serving/batcher.ts';
import { RouteError } from '../../serving/router.ts';
import { ModelUnavailableError } from '../../serving/runtime.ts';
import { RegistryError } from '../models/registry.ts';

const TITLES = {
  400: 'Bad Request',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
} as const;

/** Turns failures of the inference path into the 4xx/5xx a client can act on. */
export function inferenceToHttp(err: unknown): never {
  if (err instanceof ImageInputError) {
    throw new HttpError(err.httpStatus, TITLES[err.httpStatus], err.message, {
      errors: [{ field: 'body.file', message: err.message }],
    });
  }
  if (err instanceof RegistryError) {
    if (err.kind === 'not_found') throw notFound(err.message);
    throw new HttpError(400, 'Bad Request', err.message);
  }
  if (err instanceof RouteError && err.kind === 'unknown_model') throw notFound(err.message);
  if (err instanceof RouteError || err instanceof ModelUnavailableError) {
    throw serviceUnavailable(err.message, 5);
  }
  if (err instanceof QueueFullError) throw serviceUnavailable(err.message, err.retryAfterSeconds);
  throw err;
}
