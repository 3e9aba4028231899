import type {} from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { badRequest, HttpError } from './errors.ts';

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
  options: { fileField: string; maxFiles: number },
): Promise<Upload> {
  if (!request.isMultipart()) {
    throw new HttpError(415, 'Unsupported Media Type', 'Send the image as multipart/form-data');
  }
  const files: UploadedFile[] = [];
  const fields: Record<string, string> = {};
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
      files.push({
        field: part.fieldname,
        filename: part.filename,
        mimetype: part.mimetype,
        data: await part.toBuffer(),
      });
    } else {
      fields[part.fieldname] = String(part.value);
    }
  }
  if (!files.length)
    throw badRequest(`the request has no "${options.fileField}" file`, `body.${options.fileField}`);
  return { files, fields };
}
