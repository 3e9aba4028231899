import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { toProblem } from '../../http/problem.ts';
import { splitBinaryBody } from './tensors.ts';

type JsonParser = (
  request: FastifyRequest,
  body: string,
  done: (err: Error | null, body?: unknown) => void,
) => void;

/** The raw tensor bytes that followed a request's JSON header (binary tensor extension). */
export type BinaryParts = WeakMap<FastifyRequest, Buffer>;

/**
 * What v2 clients expect of the server around the routes: bodies in JSON, or (binary tensor
 * extension) a JSON header of Inference-Header-Content-Length bytes followed by raw tensor data,
 * which Triton's client sends without a content type; and errors as `{ "error": "..." }`, not
 * problem details. Returns where the raw tensor bytes of each request are kept.
 */
export function useV2Protocol(app: FastifyInstance): BinaryParts {
  const binaries: BinaryParts = new WeakMap();
  const parseJson = app.getDefaultJsonParser('error', 'error') as JsonParser;
  const parseBody = (
    request: FastifyRequest,
    body: Buffer,
    done: (err: Error | null, body?: unknown) => void,
  ) => {
    const header = request.headers['inference-header-content-length'];
    let json = body;
    if (header !== undefined) {
      try {
        const parts = splitBinaryBody(body, String(header));
        binaries.set(request, parts.binary);
        json = parts.json;
      } catch (err) {
        done(err as Error);
        return;
      }
    }
    parseJson(request, json.toString('utf8'), done);
  };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    ['application/json', 'application/octet-stream'],
    { parseAs: 'buffer' },
    parseBody,
  );
  app.addContentTypeParser('*', { parseAs: 'buffer' }, parseBody);

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { problem, headers } = toProblem(err, request);
    if (problem.status >= 500) request.log.error({ err }, 'request failed');
    return reply.code(problem.status).headers(headers).send({ error: problem.detail });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `No route for ${request.method} ${request.url}` }),
  );
  return binaries;
}
