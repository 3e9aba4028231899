import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { isConnectionFailure, isDiskFull } from '../db/errors.ts';
import { DependencyUnavailableError } from '../infra/errors.ts';
import { HttpError } from './errors.ts';
import { inputLimitMessage } from './input-limits.ts';

/** Seconds a client is told to wait when a dependency (database, Redis) is down: reconnects take about this. */
const DEPENDENCY_RETRY_AFTER_SECONDS = 5;
/** A full disk needs an operator: ask clients to come back much later than for a reconnect. */
const DISK_FULL_RETRY_AFTER_SECONDS = 60;

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
    request_id: Type.String(),
    errors: Type.Optional(
      Type.Array(Type.Object({ field: Type.String(), message: Type.String() })),
    ),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' },
);

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  request_id: string;
  errors?: { field: string; message: string }[];
}

interface ValidationIssue {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Names the input field an Ajv/TypeBox validation issue is about, e.g. `body.password`. */
function fieldOf(context: string | undefined, issue: ValidationIssue): string {
  const path = (issue.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
  const missing = issue.params?.missingProperty ?? issue.params?.requiredProperties;
  const extra = issue.params?.additionalProperty;
  const leaf = [path, missing ?? extra].filter((p) => p !== undefined && p !== '').join('.');
  return [context, leaf].filter(Boolean).join('.') || (context ?? 'request');
}

function validationProblem(err: FastifyError): { detail: string; errors: Problem['errors'] } {
  const context = (err as FastifyError & { validationContext?: string }).validationContext;
  const errors = (err.validation ?? []).map((issue) => {
    const field = fieldOf(context, issue as ValidationIssue);
    const params = (issue as ValidationIssue).params ?? {};
    let message = inputLimitMessage(params) ?? issue.message ?? 'is invalid';
    if (params.missingProperty !== undefined || params.requiredProperties !== undefined) {
      message = 'is required';
    } else if (params.additionalProperty !== undefined) {
      message = 'is not an accepted field';
    }
    return { field, message };
  });
  const detail = errors.map((e) => `${e.field} ${e.message}`).join('; ') || err.message;
  return { detail, errors };
}

const CODE_STATUS: Record<string, [number, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'The request body is not valid JSON'],
  // Raised by the router before any route runs (see frameworkErrors in app.ts).
  FST_ERR_BAD_URL: [400, 'The URL cannot be decoded'],
  FST_ERR_MAX_PARAM_LENGTH: [414, 'A path segment is too long'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'The request body is empty but JSON was declared'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'The request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'This content type is not accepted here'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'The Content-Length header does not match the body'],
  FST_REQ_FILE_TOO_LARGE: [413, 'The uploaded file is too large'],
  FST_INVALID_MULTIPART_CONTENT_TYPE: [415, 'The request must be multipart/form-data'],
  FST_FILES_LIMIT: [413, 'Too many files in one request'],
  FST_PARTS_LIMIT: [413, 'Too many parts in one request'],
  FST_FIELDS_LIMIT: [413, 'Too many fields in one request'],
  FST_PROTO_VIOLATION: [400, 'The multipart body is malformed'],
};

export function toProblem(
  err: FastifyError | Error,
  request: FastifyRequest,
): { problem: Problem; headers: Record<string, string> } {
  let status = 500;
  let detail = 'An unexpected error occurred; it has been logged';
  let errors: Problem['errors'];
  let type = 'about:blank';
  let title: string | undefined;
  let headers: Record<string, string> = {};
  const fe = err as FastifyError;
  if (!(err instanceof HttpError) && isDiskFull(err)) {
    status = 503;
    detail = "The server's disk is full; nothing was stored. Retry later";
    headers = { 'retry-after': String(DISK_FULL_RETRY_AFTER_SECONDS) };
  } else if (!(err instanceof HttpError) && isConnectionFailure(err)) {
    status = 503;
    detail = 'The database is unavailable; retry shortly';
    headers = { 'retry-after': String(DEPENDENCY_RETRY_AFTER_SECONDS) };
  } else if (err instanceof DependencyUnavailableError) {
    status = 503;
    detail = err.message;
    headers = { 'retry-after': String(DEPENDENCY_RETRY_AFTER_SECONDS) };
  } else if (err instanceof HttpError) {
    status = err.status;
    detail = err.message;
    title = err.title;
    errors = err.extra.errors;
    type = err.extra.type ?? type;
    headers = err.extra.headers ?? {};
  } else if (fe.validation) {
    status = 400;
    ({ detail, errors } = validationProblem(fe));
  } else if (fe.code && CODE_STATUS[fe.code]) {
    [status, detail] = CODE_STATUS[fe.code]!;
  } else if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    status = fe.statusCode;
    detail = fe.message;
  }
  const problem: Problem = {
    type,
    title: title ?? STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    instance: request.url,
    request_id: String(request.id),
  };
  if (errors?.length) problem.errors = errors;
  return { problem, headers };
}

export function sendProblem(reply: FastifyReply, problem: Problem, headers = {}): FastifyReply {
  return reply
    .code(problem.status)
    .headers(headers)
    .type('application/problem+json; charset=utf-8')
    .send(problem);
}
