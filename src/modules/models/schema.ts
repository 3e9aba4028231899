import { Type } from 'typebox';
import { Timestamp } from '../../http/schemas.ts';
import { MODEL_NAME_PATTERN } from '../../ml/artifact/model-name.ts';
import type { AliasRow, ModelRow } from './registry.ts';

/** `/models/{name}` */
export const ModelNameParams = Type.Object({ name: Type.String({ pattern: MODEL_NAME_PATTERN }) });
/** `/models/{name}/versions/{version}` */
export const ModelVersionParams = Type.Object({
  name: Type.String({ pattern: MODEL_NAME_PATTERN }),
  version: Type.Integer({ minimum: 1 }),
});

export const ModelVersionSchema = Type.Object({
  name: Type.String(),
  version: Type.Integer(),
  task: Type.String(),
  state: Type.Union([Type.Literal('ready'), Type.Literal('archived')], {
    description: 'lifecycle: ready (can be served) or archived (kept, never served)',
  }),
  source: Type.String(),
  aliases: Type.Array(Type.String()),
  labels: Type.Array(Type.String()),
  metrics: Type.Record(Type.String(), Type.Unknown()),
  created_at: Timestamp,
});

export const ModelVersionDetailSchema = Type.Intersect([
  ModelVersionSchema,
  Type.Object({ manifest: Type.Record(Type.String(), Type.Unknown()) }),
]);

export const AliasSchema = Type.Object({
  model: Type.String(),
  alias: Type.String(),
  version: Type.Integer(),
  previous_version: Type.Union([Type.Integer(), Type.Null()]),
  updated_at: Timestamp,
});

export function toModelVersion(row: ModelRow, aliases: AliasRow[]) {
  return {
    name: row.name,
    version: row.version,
    task: row.task,
    state: row.status,
    source: row.source,
    aliases: aliases
      .filter((a) => a.modelName === row.name && a.version === row.version)
      .map((a) => a.alias),
    labels: (row.manifest.labels as string[] | undefined) ?? [],
    metrics: row.metrics,
    created_at: row.createdAt.toISOString(),
  };
}

export function toAlias(a: AliasRow) {
  return {
    model: a.modelName,
    alias: a.alias,
    version: a.version,
    previous_version: a.previousVersion,
    updated_at: a.updatedAt.toISOString(),
  };
}
