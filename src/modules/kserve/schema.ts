// Request and response schemas of the KServe Open Inference Protocol v2 (REST), as AquaML serves it.
import { type TSchema, Type } from 'typebox';
import { MODEL_NAME_PATTERN } from '../../ml/artifact/model-name.ts';
import { DEFAULT_TOP_K } from '../../serving/answer.ts';
import { MAX_TOP_K } from '../predictions/classify-request.ts';

/** Every v2 error body: `{ "error": "..." }` (not RFC 9457: v2 clients read `error`). */
export const V2ErrorSchema = Type.Object(
  { error: Type.String() },
  { description: 'Open Inference Protocol error' },
);

export function v2Errors(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, V2ErrorSchema]));
}

/**
 * `$parameters`: free key/value pairs whose values are strings, numbers or booleans. (The app's
 * type coercion hands numbers and booleans over as strings; readers accept both.)
 */
export const ParametersSchema = Type.Record(
  Type.String(),
  Type.Union([Type.String(), Type.Number(), Type.Boolean()]),
);

export const ModelName = Type.String({ pattern: MODEL_NAME_PATTERN });
export const VersionSelector = Type.String({
  pattern: '^([1-9][0-9]{0,8}|champion|challenger|latest)$',
  description: 'A version number, or an alias: champion, challenger, latest',
});
export const NameParams = Type.Object({ name: ModelName });
export const VersionParams = Type.Object({ name: ModelName, version: VersionSelector });

export const ServerMetadataSchema = Type.Object({
  name: Type.String(),
  version: Type.String(),
  extensions: Type.Array(Type.String()),
});

export const LiveSchema = Type.Object({ live: Type.Boolean() });
export const ReadySchema = Type.Object({ ready: Type.Boolean() });
export const ModelReadySchema = Type.Object({
  name: Type.String(),
  versions: Type.Array(Type.String(), { description: 'The versions that answer this reference' }),
  ready: Type.Boolean(),
});

export const MetadataTensorSchema = Type.Object({
  name: Type.String(),
  datatype: Type.String(),
  shape: Type.Array(Type.Integer()),
  parameters: Type.Optional(ParametersSchema),
});

export const ModelMetadataSchema = Type.Object({
  name: Type.String(),
  versions: Type.Array(Type.String()),
  platform: Type.String(),
  inputs: Type.Array(MetadataTensorSchema),
  outputs: Type.Array(MetadataTensorSchema),
  parameters: Type.Optional(ParametersSchema),
});

const TensorData = Type.Array(Type.Union([Type.String(), Type.Array(Type.String())]), {
  description:
    'Row-major tensor elements: one base64-encoded image (JPEG, PNG, WebP, ...) per element; omitted when the bytes follow the JSON header (binary tensor extension)',
});

export const RequestInputSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100 }),
  shape: Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: 8 }),
  datatype: Type.String({ maxLength: 16 }),
  parameters: Type.Optional(ParametersSchema),
  data: Type.Optional(TensorData),
});

export const RequestOutputSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100 }),
  parameters: Type.Optional(ParametersSchema),
});

export const InferRequestSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ maxLength: 256 })),
    parameters: Type.Optional(ParametersSchema),
    inputs: Type.Array(RequestInputSchema, { minItems: 1, maxItems: 8 }),
    outputs: Type.Optional(Type.Array(RequestOutputSchema, { maxItems: 16 })),
  },
  {
    description: `One input "image" of datatype BYTES and shape [n] (a batch of n images). Request parameters: top_k (1-${MAX_TOP_K}, default ${DEFAULT_TOP_K}), unit_id, device_id.`,
  },
);

export const ResponseOutputSchema = Type.Object({
  name: Type.String(),
  shape: Type.Array(Type.Integer()),
  datatype: Type.String(),
  parameters: Type.Optional(ParametersSchema),
  data: Type.Array(Type.Union([Type.String(), Type.Number()])),
});

export const InferResponseSchema = Type.Object({
  model_name: Type.String(),
  model_version: Type.Optional(Type.String()),
  id: Type.String(),
  parameters: Type.Optional(ParametersSchema),
  outputs: Type.Array(ResponseOutputSchema),
});

export type Parameters = Record<string, string | number | boolean>;

export interface RequestInput {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Parameters;
  data?: (string | string[])[];
}

export interface ResponseOutput {
  name: string;
  shape: number[];
  datatype: string;
  data: (string | number)[];
}
