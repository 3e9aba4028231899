/** An error the API reports to the client as RFC 9457 problem details. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
    readonly extra: {
      type?: string;
      errors?: { field: string; message: string }[];
      headers?: Record<string, string>;
    } = {},
  ) {
    super(detail);
    this.name = 'HttpError';
  }
}

export const badRequest = (detail: string, field?: string) =>
  new HttpError(400, 'Bad Request', detail, field ? { errors: [{ field, message: detail }] } : {});
export const unauthorized = (detail = 'Authentication is required') =>
  new HttpError(401, 'Unauthorized', detail, { headers: { 'www-authenticate': 'Bearer' } });
export const forbidden = (detail = 'Your role does not allow this action') =>
  new HttpError(403, 'Forbidden', detail);
export const notFound = (detail: string) => new HttpError(404, 'Not Found', detail);
export const conflict = (detail: string, field?: string) =>
  new HttpError(409, 'Conflict', detail, field ? { errors: [{ field, message: detail }] } : {});
export const unprocessable = (detail: string) =>
  new HttpError(422, 'Unprocessable Content', detail);
export const tooManyRequests = (detail: string, retryAfterSeconds: number) =>
  new HttpError(429, 'Too Many Requests', detail, {
    headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
  });
export const serviceUnavailable = (detail: string, retryAfterSeconds = 1) =>
  new HttpError(503, 'Service Unavailable', detail, {
    headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
  });
