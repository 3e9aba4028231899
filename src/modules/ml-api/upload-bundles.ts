// Batch uploads may carry bundles of images: zip, tar or tar.gz files, expanded here within the
// budget of the request. ("Archive" means an archived model version elsewhere in the code.)
import { setImmediate as nextTurn } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createGunzip, inflateRaw } from 'node:zlib';
import * as tar from 'tar';
import { badRequest, HttpError } from '../../http/errors.ts';
import type { UploadedFile } from '../../http/upload.ts';

export interface BatchImage {
  filename: string;
  data: Buffer;
}

/** What one batch request may expand to; each figure comes from the configuration. */
export interface BatchBudget {
  /** Images in the whole batch (files plus bundle entries). */
  maxImages: number;
  /** Bytes of any one image, uploaded or inside a bundle. */
  maxEntryBytes: number;
  /** Bytes of the whole batch once every bundle is expanded. */
  maxTotalBytes: number;
  /** Expanded bytes per compressed byte, for an entry or a gzip stream past RATIO_FLOOR bytes. */
  maxRatio: number;
}

/** Below this many expanded bytes the ratio is not judged: small files compress unevenly. */
const RATIO_FLOOR = 1024 * 1024;

const SKIP = /(^|\/)(__MACOSX|\.[^/]*)(\/|$)/;
/** Bytes of the compressed stream handed to the parser at a time, so no step holds the loop long. */
const SLICE = 64 * 1024;

const inflateRawAsync = promisify(inflateRaw);

function isZip(b: Buffer): boolean {
  return b.length > 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;
}

function isGzip(b: Buffer): boolean {
  return b.length > 2 && b[0] === 0x1f && b[1] === 0x8b;
}

function isTar(b: Buffer): boolean {
  return b.length > 262 && b.subarray(257, 262).toString('latin1') === 'ustar';
}

/** A zip, tar or tar.gz file, by its first bytes. */
export function isBundle(file: UploadedFile): boolean {
  return isZip(file.data) || isGzip(file.data) || isTar(file.data);
}

const tooLarge = (detail: string) => new HttpError(413, 'Payload Too Large', detail);

/**
 * Counts what a batch expands to and refuses (413) the moment a budget would be passed:
 * sizes are charged when an entry is announced (zip central directory, tar header), before
 * any of its bytes are inflated, so a compression bomb costs nothing to refuse.
 */
class BudgetMeter {
  private images = 0;
  private bytes = 0;
  private entries = 0;

  constructor(private readonly budget: BatchBudget) {}

  ratio(name: string, expanded: number, compressed: number): void {
    if (expanded > RATIO_FLOOR && expanded > compressed * this.budget.maxRatio) {
      throw tooLarge(
        `${name} expands more than ${this.budget.maxRatio} times (AQUAML_MAX_COMPRESSION_RATIO): refused as a compression bomb`,
      );
    }
  }

  /** Any bundle entry (images, folders, skipped files): a header flood is refused too. */
  entry(): void {
    this.entries += 1;
    if (this.entries > this.budget.maxImages * 4) {
      throw tooLarge(`a zip or tar file holds at most ${this.budget.maxImages * 4} entries`);
    }
  }

  image(name: string, size: number): void {
    this.images += 1;
    if (this.images > this.budget.maxImages) {
      throw tooLarge(`a batch holds at most ${this.budget.maxImages} images`);
    }
    if (size > this.budget.maxEntryBytes) {
      throw tooLarge(`${name} is larger than ${this.budget.maxEntryBytes} bytes`);
    }
    this.charge(size);
  }

  charge(size: number): void {
    this.bytes += size;
    if (this.bytes > this.budget.maxTotalBytes) {
      throw tooLarge(
        `the batch expands to more than ${this.budget.maxTotalBytes} bytes (AQUAML_MAX_BATCH_BYTES)`,
      );
    }
  }
}

interface ZipEntry {
  name: string;
  flags: number;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const unreadable = (why: string) =>
  badRequest(`the zip file could not be read: ${why}`, 'body.files');

/** The end-of-central-directory record: where the entry list starts and how many it holds. */
function zipDirectory(b: Buffer): { offset: number; count: number } {
  const floor = Math.max(0, b.length - 22 - 0xffff);
  for (let i = b.length - 22; i >= floor; i -= 1) {
    if (b.readUInt32LE(i) !== 0x06054b50) continue;
    let count = b.readUInt16LE(i + 10);
    let offset = b.readUInt32LE(i + 16);
    if ((count === 0xffff || offset === 0xffffffff) && i >= 20) {
      // Zip64: the locator just before points at the 64-bit record.
      if (b.readUInt32LE(i - 20) !== 0x07064b50) throw unreadable('bad zip64 locator');
      const at = Number(b.readBigUInt64LE(i - 12));
      if (!Number.isSafeInteger(at) || at + 56 > b.length || b.readUInt32LE(at) !== 0x06064b50)
        throw unreadable('bad zip64 record');
      count = Number(b.readBigUInt64LE(at + 32));
      offset = Number(b.readBigUInt64LE(at + 48));
    }
    return { offset, count };
  }
  throw unreadable('no central directory');
}

/** Reads the central directory (names and declared sizes) without touching any entry's data. */
function zipEntries(b: Buffer, meter: BudgetMeter): ZipEntry[] {
  const { offset, count } = zipDirectory(b);
  const entries: ZipEntry[] = [];
  let p = offset;
  for (let n = 0; n < count; n += 1) {
    if (p + 46 > b.length || b.readUInt32LE(p) !== 0x02014b50) throw unreadable('bad entry');
    meter.entry();
    const nameLength = b.readUInt16LE(p + 28);
    const extraLength = b.readUInt16LE(p + 30);
    const commentLength = b.readUInt16LE(p + 32);
    const flags = b.readUInt16LE(p + 8);
    if (p + 46 + nameLength + extraLength + commentLength > b.length) throw unreadable('bad entry');
    const name = b.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLength);
    let compressedSize = b.readUInt32LE(p + 20);
    let size = b.readUInt32LE(p + 24);
    let localOffset = b.readUInt32LE(p + 42);
    // Zip64 sizes live in extra field 0x0001, in this order, for the fields that are all ones.
    let e = p + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = b.readUInt16LE(e);
      const length = b.readUInt16LE(e + 2);
      if (e + 4 + length > extraEnd) throw unreadable('bad extra field');
      if (id === 0x0001) {
        let q = e + 4;
        const next = () => {
          if (q + 8 > e + 4 + length) throw unreadable('bad zip64 extra field');
          const v = Number(b.readBigUInt64LE(q));
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localOffset === 0xffffffff) localOffset = next();
      }
      e += 4 + length;
    }
    entries.push({
      name,
      flags,
      method: b.readUInt16LE(p + 10),
      compressedSize,
      size,
      localOffset,
    });
    p = extraEnd + commentLength;
  }
  return entries;
}

/** Every offset above is checked; a RangeError left over still means a malformed file, not a fault. */
function readZipEntries(b: Buffer, meter: BudgetMeter): ZipEntry[] {
  try {
    return zipEntries(b, meter);
  } catch (err) {
    if (err instanceof RangeError) throw unreadable('an offset points outside the file');
    throw err;
  }
}

async function unzip(b: Buffer, meter: BudgetMeter): Promise<BatchImage[]> {
  const wanted = readZipEntries(b, meter).filter(
    (e) => !e.name.endsWith('/') && !SKIP.test(e.name),
  );
  // Every declared size is charged before anything is inflated: a bomb is refused right here.
  for (const e of wanted) {
    meter.image(e.name, e.size);
    meter.ratio(e.name, e.size, e.compressedSize);
  }
  const out: BatchImage[] = [];
  for (const e of wanted) {
    if (e.flags & 0x1) throw unreadable(`${e.name} is encrypted`);
    const at = e.localOffset;
    if (at + 30 > b.length || b.readUInt32LE(at) !== 0x04034b50) throw unreadable('bad entry');
    const start = at + 30 + b.readUInt16LE(at + 26) + b.readUInt16LE(at + 28);
    if (start + e.compressedSize > b.length) throw unreadable(`${e.name} is truncated`);
    const raw = b.subarray(start, start + e.compressedSize);
    let data: Buffer;
    if (e.method === 0) {
      if (raw.length !== e.size) throw unreadable(`${e.name} has a wrong size`);
      data = raw;
    } else if (e.method === 8) {
      // Inflated on the thread pool, and stopped as soon as it passes its declared size.
      data = await inflateRawAsync(raw, { maxOutputLength: Math.max(1, e.size) }).catch(
        (err: NodeJS.ErrnoException) => {
          if (err.code === 'ERR_BUFFER_TOO_LARGE')
            throw tooLarge(`${e.name} expands beyond the size its zip file declares`);
          throw unreadable(`${e.name}: ${err.message}`);
        },
      );
      if (data.length !== e.size) throw unreadable(`${e.name} has a wrong size`);
    } else {
      throw unreadable(`${e.name} uses compression method ${e.method} (only stored and deflate)`);
    }
    out.push({ filename: e.name, data });
  }
  return out;
}

/** Compressed or plain tar, fed to the parser a slice at a time; inflation runs on the thread pool. */
async function* tarStream(data: Buffer, name: string, meter: BudgetMeter): AsyncGenerator<Buffer> {
  if (isGzip(data)) {
    const gunzip = createGunzip({ chunkSize: SLICE });
    gunzip.end(data);
    let expanded = 0;
    // Leaving the loop early destroys the stream, so a refused bomb stops inflating at once.
    for await (const chunk of gunzip) {
      expanded += (chunk as Buffer).length;
      meter.ratio(name, expanded, gunzip.bytesWritten);
      yield chunk as Buffer;
    }
    return;
  }
  for (let i = 0; i < data.length; i += SLICE) {
    yield data.subarray(i, i + SLICE);
    if (i % (16 * SLICE) === 0) await nextTurn();
  }
}

async function untar(data: Buffer, name: string, meter: BudgetMeter): Promise<BatchImage[]> {
  const out: BatchImage[] = [];
  let failure: Error | undefined;
  const parser = new tar.Parser({
    strict: true,
    // The stream arrives decompressed; the parser must not start a (synchronous) inflater itself.
    brotli: false,
    zstd: false,
    onReadEntry: (entry) => {
      try {
        if (failure) return entry.resume();
        meter.entry();
        if ((entry.type !== 'File' && entry.type !== 'OldFile') || SKIP.test(entry.path)) {
          // Skipped, but its bytes still have to be read through: they count.
          meter.charge(entry.size);
          return entry.resume();
        }
        meter.image(entry.path, entry.size);
      } catch (err) {
        failure = err as Error;
        return entry.resume();
      }
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => out.push({ filename: entry.path, data: Buffer.concat(chunks) }));
    },
  });
  const unreadableTar = (why: string) =>
    badRequest(`the tar file could not be read: ${why}`, 'body.files');
  parser.on('error', (err: Error) => {
    failure ??= unreadableTar(err.message);
  });
  let head: Buffer | undefined = Buffer.alloc(0);
  try {
    let n = 0;
    for await (const chunk of tarStream(data, name, meter)) {
      // A macrotask turn now and then, even when the inflater has chunks ready back to back.
      if (++n % 16 === 0) await nextTurn();
      if (head) {
        // Only a tar inside the gzip: a nested gzip would be inflated by the parser itself.
        head = Buffer.concat([head, chunk]);
        if (head.length < 263) continue;
        if (!isTar(head)) throw unreadableTar('not in tar (ustar) format');
        parser.write(head);
        head = undefined;
      } else {
        parser.write(chunk);
      }
      if (failure) break;
    }
    if (head) throw unreadableTar('not in tar (ustar) format');
    if (!failure) {
      await new Promise<void>((resolve) => {
        parser.once('finish', resolve);
        parser.once('close', resolve);
        parser.once('error', () => resolve());
        parser.end();
      });
    }
  } catch (err) {
    failure ??= err instanceof HttpError ? err : unreadableTar((err as Error).message);
  }
  if (failure) {
    parser.abort(failure);
    throw failure;
  }
  return out;
}

/**
 * The images of a batch upload: the files themselves, with bundles (zip, tar, tar.gz) expanded
 * as streams against the budget, so nothing past it is ever inflated or held.
 */
export async function expandBatch(
  files: UploadedFile[],
  budget: BatchBudget,
): Promise<BatchImage[]> {
  const meter = new BudgetMeter(budget);
  const images: BatchImage[] = [];
  for (const f of files) {
    if (!isBundle(f)) {
      meter.image(f.filename, f.data.length);
      images.push({ filename: f.filename, data: f.data });
      continue;
    }
    const entries = isZip(f.data)
      ? await unzip(f.data, meter)
      : await untar(f.data, f.filename, meter);
    for (const e of entries) images.push({ filename: `${f.filename}/${e.filename}`, data: e.data });
  }
  if (!images.length) throw badRequest('the batch holds no images', 'body.files');
  return images;
}
