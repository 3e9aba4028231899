import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../../context.ts';
import { badRequest, conflict, notFound } from '../../http/errors.ts';
import { errors } from '../../http/schemas.ts';
import { actorOf } from '../auth/actor.ts';
import { ALIASES, type Alias, RegistryError } from './registry.ts';
import {
  AliasSchema,
  ModelVersionDetailSchema,
  ModelVersionSchema,
  toAlias,
  toModelVersion,
} from './schema.ts';

const NameParams = Type.Object({ name: Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' }) });
const VersionParams = Type.Object({
  name: Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' }),
  version: Type.Integer({ minimum: 1 }),
});
const AliasName = Type.Union(ALIASES.map((a) => Type.Literal(a)));

/** Maps registry failures to 404/409/400. */
export function registryToHttp(err: unknown): never {
  if (err instanceof RegistryError) {
    if (err.kind === 'not_found') throw notFound(err.message);
    if (err.kind === 'conflict') throw conflict(err.message);
    throw badRequest(err.message);
  }
  throw err;
}

export const modelRoutes: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (app, { ctx }) => {
  const registry = ctx.registry;

  app.get(
    '/all',
    {
      schema: {
        tags: ['models'],
        summary: 'Every registered model version, with aliases',
        querystring: Type.Object({ include_archived: Type.Boolean({ default: false }) }),
        response: { 200: Type.Object({ items: Type.Array(ModelVersionSchema) }), ...errors(401) },
      },
    },
    async (request) => {
      const [rows, aliases] = await Promise.all([
        registry.list({ includeArchived: request.query.include_archived }),
        registry.aliases(),
      ]);
      return { items: rows.map((r) => toModelVersion(r, aliases)) };
    },
  );

  app.get(
    '/:name',
    {
      schema: {
        tags: ['models'],
        summary: "A model's versions and aliases",
        params: NameParams,
        response: {
          200: Type.Object({
            name: Type.String(),
            versions: Type.Array(ModelVersionSchema),
            aliases: Type.Array(AliasSchema),
          }),
          ...errors(400, 401, 404),
        },
      },
    },
    async (request) => {
      const { name } = request.params;
      const [rows, aliases] = await Promise.all([
        registry.list({ name, includeArchived: true }),
        registry.aliases(name),
      ]);
      if (!rows.length) throw notFound(`No model ${name}`);
      return {
        name,
        versions: rows.map((r) => toModelVersion(r, aliases)),
        aliases: aliases.map(toAlias),
      };
    },
  );

  app.get(
    '/:name/versions/:version',
    {
      schema: {
        tags: ['models'],
        summary: 'One model version with its full manifest',
        params: VersionParams,
        response: { 200: ModelVersionDetailSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { name, version } = request.params;
      const row = await registry.get(name, version);
      if (!row) throw notFound(`No model ${name}@${version}`);
      return { ...toModelVersion(row, await registry.aliases(name)), manifest: row.manifest };
    },
  );

  app.get(
    '/:name/versions/:version/card',
    {
      schema: {
        tags: ['models'],
        summary:
          'The model card (markdown): intended use, data, metrics, limitations, data licence',
        params: VersionParams,
        produces: ['text/markdown'],
        response: { 200: Type.String(), ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const { name, version } = request.params;
      if (!(await registry.get(name, version))) throw notFound(`No model ${name}@${version}`);
      const dir = await ctx.store.localDir(name, version);
      const card = await readFile(join(dir, 'MODEL_CARD.md'), 'utf8').catch(() => {
        throw notFound(`${name}@${version} has no model card`);
      });
      return reply.type('text/markdown; charset=utf-8').send(card);
    },
  );

  app.post(
    '/:name/promote',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['models'],
        summary: 'Point an alias (default champion) at a version; audited',
        params: NameParams,
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
        params: NameParams,
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
        params: VersionParams,
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
