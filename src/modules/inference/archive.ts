import { Readable } from 'node:stream';
import { unzipSync } from 'fflate';
import * as tar from 'tar';
import { badRequest, HttpError } from '../../http/errors.ts';
import type { UploadedFile } from '../../http/upload.ts';

export interface BatchImage {
  filename: string;
  data: Buffer;
}

const SKIP = /(^|\/)(__MACOSX|\.[^/]*)(\/|$)/;

function isZip(b: Buffer): boolean {
  return b.length > 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;
}

function isGzip(b: Buffer): boolean {
  return b.length > 2 && b[0] === 0x1f && b[1] === 0x8b;
}

function isTar(b: Buffer): boolean {
  return b.length > 262 && b.subarray(257, 262).toString('latin1') === 'ustar';
}

export function isArchive(file: UploadedFile): boolean {
  return isZip(file.data) || isGzip(file.data) || isTar(file.data);
}

function tooMany(max: number): HttpError {
  return new HttpError(413, 'Payload Too Large', `a batch holds at most ${max} images`);
}

async function untar(data: Buffer, max: number, maxBytes: number): Promise<BatchImage[]> {
  const out: BatchImage[] = [];
  let failure: Error | undefined;
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      if (entry.type !== 'File' || SKIP.test(entry.path)) return entry.resume();
      if (out.length >= max) {
        failure = tooMany(max);
        return entry.resume();
      }
      if (entry.size > maxBytes) {
        failure = new HttpError(
          413,
          'Payload Too Large',
          `${entry.path} is larger than ${maxBytes} bytes`,
        );
        return entry.resume();
      }
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => out.push({ filename: entry.path, data: Buffer.concat(chunks) }));
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('error', reject);
    Readable.from([data]).pipe(parser as unknown as NodeJS.WritableStream);
  }).catch((err: Error) => {
    throw badRequest(`the archive could not be read: ${err.message}`, 'body.files');
  });
  if (failure) throw failure;
  return out;
}

function unzip(data: Buffer, max: number, maxBytes: number): BatchImage[] {
  let entries: Record<string, Uint8Array>;
  let count = 0;
  try {
    entries = unzipSync(data, {
      // Decide per entry from the header, before inflating: no zip bomb gets expanded.
      filter: (f) => {
        if (f.name.endsWith('/') || SKIP.test(f.name)) return false;
        if (f.originalSize > maxBytes)
          throw new HttpError(
            413,
            'Payload Too Large',
            `${f.name} is larger than ${maxBytes} bytes`,
          );
        count += 1;
        if (count > max) throw tooMany(max);
        return true;
      },
    });
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw badRequest(`the zip archive could not be read: ${(err as Error).message}`, 'body.files');
  }
  return Object.entries(entries).map(([filename, bytes]) => ({
    filename,
    data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  }));
}

/** The images of a batch upload: the files themselves, with archives (zip, tar, tar.gz) expanded. */
export async function expandBatch(
  files: UploadedFile[],
  max: number,
  maxBytes: number,
): Promise<BatchImage[]> {
  const images: BatchImage[] = [];
  for (const f of files) {
    if (!isArchive(f)) {
      images.push({ filename: f.filename, data: f.data });
    } else {
      const entries = isZip(f.data)
        ? unzip(f.data, max, maxBytes)
        : await untar(f.data, max, maxBytes);
      images.push(
        ...entries.map((e) => ({ filename: `${f.filename}/${e.filename}`, data: e.data })),
      );
    }
    if (images.length > max) throw tooMany(max);
  }
  if (!images.length) throw badRequest('the batch holds no images', 'body.files');
  return images;
}
