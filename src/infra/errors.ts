/**
 * A service the platform depends on (Redis for the job queue and the event bus) did not answer.
 * Raised by the adapters; the HTTP edge answers 503 with Retry-After, since the request may
 * succeed once the service is back.
 */
export class DependencyUnavailableError extends Error {
  constructor(
    readonly dependency: 'redis',
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    super(`${dependency} is unavailable (${operation} failed); retry shortly`, options);
    this.name = 'DependencyUnavailableError';
  }
}
