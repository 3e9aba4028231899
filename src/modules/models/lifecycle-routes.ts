import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppServices } from '../app-services.ts';
import { errors } from '../../http/schemas.ts';
import { actorOf } from '../auth/actor.ts';
import { ALIASES, type Alias } from './registry.ts';
import { registryToHttp } from './errors.ts';
import {
  AliasSchema,
  ModelNameParams,
  ModelVersionParams,
  ModelVersionSchema,
  toAlias,
  toModelVersion,
} from './schema.ts';

const AliasName = Type.Union(ALIASES.map((a) => Type.Literal(a)));

/** Promote, roll back and archive versions (operators; audited). */
export const modelLifecycleRoutes: FastifyPluginAsyncTypebox<{ ctx: AppServices }> = async (
  app,
  { ctx },
) => {
  const registry = ctx.registry;

  app.post(
    '/:name/promote',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['models'],
        summary: 'Point an alias (default champion) at a version; audited',
        params: ModelNameParams,
        body: Type.Object(
          { version: Type.Integer({ minimum: 1 }), alias: Type.Optional(AliasName) },
          { additionalProperties: false },
        ),
        response: { 200: AliasSchema, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const alias = (request.body.alias ?? 'champion') as Alias;
      const saved = await registry
        .setAlias(request.params.name, alias, request.body.version, actorOf(request))
        .catch(registryToHttp);
      return toAlias(saved);
    },
  );

  app.post(
    '/:name/rollback',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['models'],
        summary: 'Move an alias (default champion) back to the version it held before; audited',
        params: ModelNameParams,
        body: Type.Optional(
          Type.Object({ alias: Type.Optional(AliasName) }, { additionalProperties: false }),
        ),
        response: { 200: AliasSchema, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const alias = (request.body?.alias ?? 'champion') as Alias;
      const saved = await registry
        .rollback(request.params.name, alias, actorOf(request))
        .catch(registryToHttp);
      return toAlias(saved);
    },
  );

  app.post(
    '/:name/versions/:version/archive',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['models'],
        summary: 'Archive a version (kept for the record, never served)',
        params: ModelVersionParams,
        response: { 200: ModelVersionSchema, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { name, version } = request.params;
      const row = await registry.archive(name, version, actorOf(request)).catch(registryToHttp);
      return toModelVersion(row, await registry.aliases(name));
    },
  );
};
