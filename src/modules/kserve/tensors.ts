// Tensor encoding of the v2 protocol: images in (base64 JSON elements, or raw bytes after the JSON
// header with the binary tensor extension), classification results out.
import { badRequest, HttpError } from '../../http/errors.ts';
import { type ClassifyResult, DEFAULT_TOP_K } from '../../serving/answer.ts';
import { MAX_TOP_K } from '../predictions/classify-request.ts';
import type { Parameters, RequestInput, ResponseOutput } from './schema.ts';

export const IMAGE_INPUT = 'image';
/** Images in one request; larger sets go to POST /api/v1/predictions/batch. */
export const MAX_IMAGES = 64;

/** The outputs of an image classifier, in the order they are returned. */
export const OUTPUTS = [
  { name: 'label', datatype: 'BYTES', description: 'best label (also when status is unknown)' },
  { name: 'confidence', datatype: 'FP32', description: 'calibrated probability of the label' },
  { name: 'status', datatype: 'BYTES', description: '"ok", or "unknown" for an unknown fish' },
  { name: 'top_k', datatype: 'BYTES', description: 'JSON [{label, confidence}], best first' },
  { name: 'ood_score', datatype: 'FP32', description: 'open-set score (higher: less familiar)' },
  { name: 'prediction_id', datatype: 'BYTES', description: 'id for feedback on the prediction' },
  { name: 'model_version', datatype: 'INT64', description: 'the version that answered' },
] as const;

export type OutputName = (typeof OUTPUTS)[number]['name'];

const OUTPUT_NAMES = new Set<string>(OUTPUTS.map((o) => o.name));

/**
 * Splits a body sent with the binary tensor extension: `Inference-Header-Content-Length` bytes of
 * JSON, then the binary data of the inputs in the order they are listed.
 */
export function splitBinaryBody(
  body: Buffer,
  headerLength: string,
): { json: Buffer; binary: Buffer } {
  if (!/^\d{1,12}$/.test(headerLength) || Number(headerLength) > body.length) {
    throw badRequest(
      `Inference-Header-Content-Length must be the byte length of the JSON header (at most ${body.length})`,
    );
  }
  const n = Number(headerLength);
  return { json: body.subarray(0, n), binary: body.subarray(n) };
}

const DATA_URL = /^data:[\w.+/-]*;base64,/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** Decodes one base64 element (standard or URL-safe alphabet; a data: URL prefix is allowed). */
export function decodeBase64(text: string, where: string): Buffer {
  let s = text.replace(DATA_URL, '');
  if (/\s/.test(s)) s = s.replace(/\s+/g, '');
  if (!s.length) throw badRequest(`${where} is empty`);
  const standard = BASE64.test(s);
  if (s.length % 4 === 1 || !(standard || BASE64URL.test(s))) {
    throw badRequest(
      `${where} is not base64: BYTES elements in JSON carry each image base64-encoded`,
    );
  }
  return Buffer.from(s, standard ? 'base64' : 'base64url');
}

/** BYTES elements in binary form: each a 4-byte little-endian length, then that many bytes. */
export function splitBytesElements(raw: Buffer, where: string): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < raw.length) {
    if (at + 4 > raw.length) throw badRequest(`${where}: truncated element length`);
    const n = raw.readUInt32LE(at);
    at += 4;
    if (at + n > raw.length) {
      throw badRequest(`${where}: element ${out.length} claims ${n} bytes; fewer remain`);
    }
    out.push(raw.subarray(at, at + n));
    at += n;
  }
  return out;
}

function flatten(data: (string | string[])[]): string[] {
  return data.flatMap((d) => (Array.isArray(d) ? d : [d]));
}

/** A whole-number parameter; the schema's type coercion may hand numbers over as strings. */
function wholeNumber(value: string | number | boolean): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  return typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

function binarySize(input: RequestInput, where: string): number | undefined {
  const raw = input.parameters?.binary_data_size;
  if (raw === undefined) return undefined;
  const size = wholeNumber(raw);
  if (size === undefined || size < 0) {
    throw badRequest(`${where}: parameters.binary_data_size must be a whole number of bytes`);
  }
  return size;
}

/**
 * The images of a request, one per element of the single BYTES input "image" (shape [n] or
 * [n, 1]); `binary` is the data after the JSON header when the binary extension is used.
 */
export function imagesOf(inputs: RequestInput[], binary: Buffer | undefined): Buffer[] {
  if (inputs.length !== 1 || inputs[0]!.name !== IMAGE_INPUT) {
    throw badRequest(
      `this model takes one input "${IMAGE_INPUT}" (BYTES, shape [n]); got ${inputs.map((i) => `"${i.name}"`).join(', ')}`,
      'body.inputs',
    );
  }
  const input = inputs[0]!;
  const where = `input "${input.name}"`;
  if (input.datatype !== 'BYTES') {
    throw badRequest(`${where} must have datatype BYTES, not ${input.datatype}`, 'body.inputs.0');
  }
  const [n, ...rest] = input.shape;
  if (n === undefined || n < 1 || rest.some((d) => d !== 1)) {
    throw badRequest(
      `${where} must have shape [n] or [n, 1] with n >= 1 images; got [${input.shape.join(', ')}]`,
      'body.inputs.0.shape',
    );
  }
  if (n > MAX_IMAGES) {
    throw new HttpError(
      413,
      'Payload Too Large',
      `${where} has ${n} images; the limit is ${MAX_IMAGES} per request`,
    );
  }
  const size = binarySize(input, where);
  let images: Buffer[];
  if (size !== undefined) {
    if (input.data !== undefined) {
      throw badRequest(`${where} has both data and parameters.binary_data_size`);
    }
    if (!binary) {
      throw badRequest(
        `${where} declares binary_data_size but the request has no Inference-Header-Content-Length header`,
      );
    }
    if (size !== binary.length) {
      throw badRequest(
        `${where} declares ${size} bytes of binary data; ${binary.length} follow the JSON header`,
      );
    }
    images = splitBytesElements(binary, where);
  } else {
    if (binary?.length) {
      throw badRequest(
        `binary data follows the JSON header but no input declares binary_data_size`,
      );
    }
    if (input.data === undefined) throw badRequest(`${where} has no data`, 'body.inputs.0.data');
    const encoding = input.parameters?.content_type;
    if (encoding !== undefined && encoding !== 'base64') {
      throw badRequest(
        `${where}: parameters.content_type must be "base64" (images are base64 in JSON), not "${String(encoding)}"`,
      );
    }
    images = flatten(input.data).map((s, i) => decodeBase64(s, `${where} element ${i}`));
  }
  if (images.length !== n) {
    throw badRequest(
      `${where} has shape [${input.shape.join(', ')}] but ${images.length} element(s)`,
      'body.inputs.0.data',
    );
  }
  images.forEach((img, i) => {
    if (!img.length) throw badRequest(`${where} element ${i} is empty`);
  });
  return images;
}

/** The outputs to return: all by default, or the requested subset in the requested order. */
export function selectOutputs(requested: { name: string }[] | undefined): OutputName[] {
  if (!requested?.length) return OUTPUTS.map((o) => o.name);
  const seen = new Set<string>();
  for (const { name } of requested) {
    if (!OUTPUT_NAMES.has(name)) {
      throw badRequest(
        `unknown output "${name}"; this model has ${OUTPUTS.map((o) => o.name).join(', ')}`,
        'body.outputs',
      );
    }
    seen.add(name);
  }
  return [...seen] as OutputName[];
}

export function topKParameter(parameters: Parameters | undefined): number {
  const k = parameters?.top_k;
  if (k === undefined) return DEFAULT_TOP_K;
  const n = wholeNumber(k);
  if (n === undefined || n < 1 || n > MAX_TOP_K) {
    throw badRequest(
      `parameters.top_k must be a whole number from 1 to ${MAX_TOP_K}`,
      'body.parameters',
    );
  }
  return n;
}

const ID_TEXT = /^[\w.:-]{1,100}$/;

/** unit_id / device_id request parameters (stored with the predictions). */
export function idParameter(
  parameters: Parameters | undefined,
  key: 'unit_id' | 'device_id',
): string | undefined {
  const raw = parameters?.[key];
  if (raw === undefined || raw === '') return undefined;
  const v = String(raw);
  if (typeof raw === 'boolean' || !ID_TEXT.test(v)) {
    throw badRequest(
      `parameters.${key} must be 1-100 letters, digits, _ . : -`,
      `body.parameters.${key}`,
    );
  }
  return v;
}

/** Classification results as v2 output tensors (batch dimension first). */
export function toOutputs(results: ClassifyResult[], names: OutputName[]): ResponseOutput[] {
  const n = results.length;
  const column = (name: OutputName): (string | number)[] => {
    switch (name) {
      case 'label':
        return results.map((r) => r.label);
      case 'confidence':
        return results.map((r) => r.confidence);
      case 'status':
        return results.map((r) => r.status);
      case 'top_k':
        return results.map((r) => JSON.stringify(r.top_k));
      case 'ood_score':
        return results.map((r) => r.ood_score);
      case 'prediction_id':
        return results.map((r) => r.prediction_id);
      case 'model_version':
        return results.map((r) => r.model.version);
    }
  };
  return names.map((name) => ({
    name,
    datatype: OUTPUTS.find((o) => o.name === name)!.datatype,
    shape: [n],
    data: column(name),
  }));
}
