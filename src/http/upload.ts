import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { isDiskFull } from '../db/errors.ts';
import { badRequest, HttpError } from './errors.ts';
import { STORABLE_TEXT_MESSAGE, STORABLE_TEXT_PATTERN } from './input-limits.ts';

const STORABLE_TEXT = new RegExp(STORABLE_TEXT_PATTERN, 'u');

export interface UploadedFile {
  field: string;
  filename: string;
  mimetype: string;
  data: Buffer;
}

export interface Upload {
  files: UploadedFile[];
  fields: Record<string, string>;
}

/** Reads a multipart/form-data request: every file buffered (within the configured limits) and the text fields. */
export async function readUpload(
  request: FastifyRequest,
  options: {
    fileField: string;
    maxFiles: number;
    /** Bytes of all files together; the request is refused (413) as soon as they pass it. */
    maxTotalBytes?: number;
  },
): Promise<Upload> {
  let total = 0;
  return readMultipart(request, options, async (part) => {
    // One file: the request's size bounds it, so its buffer can be sized up front.
    const data =
      options.maxFiles === 1
        ? await fileBytes(part, Number(request.headers['content-length']))
        : await part.toBuffer();
    total += data.length;
    if (options.maxTotalBytes !== undefined && total > options.maxTotalBytes) {
      throw new HttpError(
        413,
        'Payload Too Large',
        `the files of one request hold at most ${options.maxTotalBytes} bytes`,
      );
    }
    return { field: part.fieldname, filename: part.filename, mimetype: part.mimetype, data };
  });
}

export interface SpooledFile {
  field: string;
  filename: string;
  mimetype: string;
  /** Where the bytes are; the caller owns the file and removes it unless it keeps it. */
  path: string;
  bytes: number;
  /** SHA-256 (hex) of the bytes, hashed as they arrived. */
  sha256: string;
}

/**
 * Reads a multipart/form-data request with one file, written to a new file in `dir` as it
 * arrives and hashed on the way: a large upload is never held in memory, nor copied or hashed
 * in one long turn of the event loop. On any failure the file is removed.
 */
export async function spoolUpload(
  request: FastifyRequest,
  options: { fileField: string; dir: string },
): Promise<{ file: SpooledFile; fields: Record<string, string> }> {
  const written: string[] = [];
  try {
    const { files, fields } = await readMultipart(
      request,
      { fileField: options.fileField, maxFiles: 1 },
      async (part) => {
        await mkdir(options.dir, { recursive: true });
        const path = join(options.dir, randomUUID());
        written.push(path);
        const hash = createHash('sha256');
        let bytes = 0;
        const out = createWriteStream(path);
        // A write error (a full disk) ends the upload at the next chunk, never as an unhandled event.
        let failed: Error | undefined;
        out.on('error', (err) => (failed ??= err));
        try {
          for await (const chunk of part.file as AsyncIterable<Buffer>) {
            if (failed) throw failed;
            hash.update(chunk);
            bytes += chunk.length;
            if (!out.write(chunk)) await once(out, 'drain');
          }
        } finally {
          out.end();
          await finished(out).catch((err: Error) => (failed ??= err));
        }
        if (failed) throw failed;
        if (part.file.truncated) {
          throw new HttpError(413, 'Payload Too Large', 'The uploaded file is too large');
        }
        return {
          field: part.fieldname,
          filename: part.filename,
          mimetype: part.mimetype,
          path,
          bytes,
          sha256: hash.digest('hex'),
        };
      },
    );
    return { file: files[0]!, fields };
  } catch (err) {
    await Promise.all(written.map((path) => rm(path, { force: true })));
    throw err;
  }
}

async function readMultipart<F>(
  request: FastifyRequest,
  options: { fileField: string; maxFiles: number },
  takeFile: (part: MultipartFile) => Promise<F>,
): Promise<{ files: F[]; fields: Record<string, string> }> {
  if (!request.isMultipart()) {
    throw new HttpError(415, 'Unsupported Media Type', 'Send the image as multipart/form-data');
  }
  const files: F[] = [];
  const fields: Record<string, string> = {};
  try {
    await readParts(request, options, takeFile, files, fields);
  } catch (err) {
    // The multipart parser throws plain errors for a body it cannot read (no closing boundary,
    // a truncated part): the client's fault, so a 400 rather than a 500. Limit errors carry
    // their own status (413) and pass through.
    if (
      err instanceof HttpError ||
      typeof (err as { statusCode?: unknown }).statusCode === 'number' ||
      isDiskFull(err)
    )
      throw err;
    throw badRequest(`the multipart body cannot be read: ${(err as Error).message}`, 'body');
  }
  if (!files.length)
    throw badRequest(`the request has no "${options.fileField}" file`, `body.${options.fileField}`);
  return { files, fields };
}

async function readParts<F>(
  request: FastifyRequest,
  options: { fileField: string; maxFiles: number },
  takeFile: (part: MultipartFile) => Promise<F>,
  files: F[],
  fields: Record<string, string>,
): Promise<void> {
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      if (part.fieldname !== options.fileField) {
        // Drain it so the stream moves on, then refuse.
        await part.toBuffer();
        throw badRequest(
          `unexpected file field "${part.fieldname}"; use "${options.fileField}"`,
          `body.${part.fieldname}`,
        );
      }
      if (files.length >= options.maxFiles) {
        throw new HttpError(
          413,
          'Payload Too Large',
          `at most ${options.maxFiles} file(s) per request`,
        );
      }
      files.push(await takeFile(part));
    } else {
      const value = String(part.value);
      // Form fields bypass the JSON schemas, whose text rules would have refused these.
      if (!STORABLE_TEXT.test(value)) {
        throw badRequest(`${part.fieldname} ${STORABLE_TEXT_MESSAGE}`, `body.${part.fieldname}`);
      }
      fields[part.fieldname] = value;
    }
  }
}

/** Above this a request's size is not trusted for one allocation; chunks are joined instead. */
const PREALLOCATE_MAX = 64 * 1024 * 1024;

/**
 * The bytes of one file part. Each chunk is copied into a buffer sized from the request's
 * Content-Length as it arrives, so there is no single large copy at the end (joining 20 MB of
 * chunks held the event loop that long).
 */
async function fileBytes(part: MultipartFile, contentLength: number): Promise<Buffer> {
  if (!(contentLength > 0 && contentLength <= PREALLOCATE_MAX)) return part.toBuffer();
  const out = Buffer.allocUnsafe(contentLength);
  let length = 0;
  const spill: Buffer[] = [];
  for await (const chunk of part.file as AsyncIterable<Buffer>) {
    if (spill.length || length + chunk.length > out.length) spill.push(chunk);
    else {
      chunk.copy(out, length);
      length += chunk.length;
    }
  }
  if (part.file.truncated) {
    throw new HttpError(413, 'Payload Too Large', 'The uploaded file is too large');
  }
  const data = out.subarray(0, length);
  return spill.length ? Buffer.concat([data, ...spill]) : data;
}
