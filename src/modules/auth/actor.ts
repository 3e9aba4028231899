import type { FastifyRequest } from 'fastify';
import type { AuditActor } from '../audit/service.ts';

/** Who made a request, for the audit log. */
export function actorOf(request: FastifyRequest): AuditActor {
  const p = request.principal;
  return {
    userId: p?.userId ?? null,
    apiKeyId: p?.apiKeyId ?? null,
    name: p?.name ?? null,
    ip: request.ip,
    requestId: String(request.id),
  };
}
