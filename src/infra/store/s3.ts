import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import { assertModelName } from '../../ml/artifact/model-name.ts';
import type { ModelStore } from './types.ts';

export interface S3ModelStoreOptions {
  bucket: string;
  /** Key prefix without leading or trailing slash ('' for the bucket's root). */
  prefix: string;
  /** For S3-compatible services (MinIO, Ceph...); unset: AWS S3. */
  endpoint?: string;
  region: string;
  /** Both or neither; neither: the SDK's default credential chain (env, profile, instance role). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** `<endpoint>/<bucket>/<key>` instead of `<bucket>.<endpoint>/<key>` (MinIO needs it). */
  forcePathStyle: boolean;
  /** Local folder that downloaded versions are kept in (`<data dir>/models-cache`). */
  cacheDir: string;
  /** Local folder for backbone ONNX files: backbones are built on each machine, never stored remotely. */
  backbonesDir: string;
  /** How long ping() waits for the service. */
  pingTimeoutMs?: number;
  /** Files up to this size are uploaded from memory (retryable); larger ones are streamed. */
  inMemoryUploadBytes?: number;
  /** A publishing claim older than this is left over from a crashed publisher and taken over. */
  claimStaleMs?: number;
}

const MANIFEST = 'manifest.json';
/** A single PUT takes at most 5 GiB; artefact files are far smaller (backbones stay local). */
const MAX_OBJECT_BYTES = 5 * 1024 ** 3;
const CONCURRENCY = 4;

/**
 * A model store in any S3-compatible service: `s3://<bucket>/<prefix>/<name>/<version>/<file>`.
 * S3 has no rename, so `manifest.json` is written last and its presence marks a complete version;
 * readers download a version into a local cache folder once (versions are immutable).
 */
export class S3ModelStore implements ModelStore {
  readonly kind = 's3' as const;
  /** `s3://bucket/prefix`, for messages (never holds credentials). */
  readonly location: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly cacheDir: string;
  private readonly backbones: string;
  private readonly pingTimeoutMs: number;
  private readonly inMemoryUploadBytes: number;
  private readonly claimStaleMs: number;
  private readonly downloads = new Map<string, Promise<string>>();

  constructor(options: S3ModelStoreOptions) {
    if (Boolean(options.accessKeyId) !== Boolean(options.secretAccessKey)) {
      throw new Error('S3 credentials need both an access key id and a secret access key');
    }
    this.bucket = options.bucket;
    this.prefix = options.prefix.replace(/^\/+|\/+$/g, '');
    this.location = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
    this.cacheDir = options.cacheDir;
    this.backbones = options.backbonesDir;
    this.pingTimeoutMs = options.pingTimeoutMs ?? 1_500;
    this.inMemoryUploadBytes = options.inMemoryUploadBytes ?? 64 * 1024 ** 2;
    this.claimStaleMs = options.claimStaleMs ?? 15 * 60_000;
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      credentials:
        options.accessKeyId && options.secretAccessKey
          ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
          : undefined,
      // Checksums only where the API requires them: many S3-compatible services reject the
      // SDK's default (streamed aws-chunked uploads with trailing CRC32). Uploads carry
      // Content-MD5 instead, which S3 services check.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
    });
  }

  private versionPrefix(name: string, version: number): string {
    assertModelName(name);
    if (!Number.isInteger(version) || version < 1) throw new Error(`invalid version ${version}`);
    return `${this.prefix ? `${this.prefix}/` : ''}${name}/${version}/`;
  }

  /** Where a publisher claims a version while uploading; outside the version's folder. */
  private claimKey(name: string, version: number): string {
    return `${this.prefix ? `${this.prefix}/` : ''}.publishing/${name}/${version}.json`;
  }

  async has(name: string, version: number): Promise<boolean> {
    const key = this.versionPrefix(name, version) + MANIFEST;
    return (await this.head(key)) !== undefined;
  }

  async put(name: string, version: number, fromDir: string): Promise<void> {
    const base = this.versionPrefix(name, version);
    const files = await listFiles(fromDir);
    if (!files.includes(MANIFEST)) throw new Error(`${fromDir} has no ${MANIFEST}`);
    if (await this.has(name, version)) throw alreadyExists(name, version);
    const claim = await this.claim(name, version);
    try {
      await eachLimit(
        files.filter((f) => f !== MANIFEST),
        CONCURRENCY,
        (file) => this.upload(base + file, join(fromDir, file)),
      );
      // Last, and only if no one published this version meanwhile: now the version exists.
      await this.upload(base + MANIFEST, join(fromDir, MANIFEST), { create: true }).catch(
        (err: unknown) => {
          throw status(err) === 412 ? alreadyExists(name, version) : err;
        },
      );
    } finally {
      await this.client
        .send(new DeleteObjectCommand({ Bucket: this.bucket, Key: claim }))
        .catch(() => undefined);
    }
  }

  /**
   * Claims a version for this publisher, so two publishers of one version never mix their
   * files: created only if absent (or taken over when stale), where the service supports
   * conditional writes; elsewhere the check before it narrows the window.
   */
  private async claim(name: string, version: number): Promise<string> {
    const key = this.claimKey(name, version);
    const current = await this.head(key);
    const fresh =
      current?.LastModified && Date.now() - current.LastModified.getTime() < this.claimStaleMs;
    if (fresh) throw busy(name, version);
    const body = JSON.stringify({ id: randomUUID(), at: new Date().toISOString() });
    const condition = current?.ETag ? { IfMatch: current.ETag } : { IfNoneMatch: '*' };
    try {
      await this.write(() => ({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/json',
        ...condition,
      }));
    } catch (err) {
      if (status(err) === 412 || status(err) === 409) throw busy(name, version);
      throw this.fail(`cannot publish ${name}@${version}`, err);
    }
    return key;
  }

  private async upload(key: string, path: string, options: { create?: boolean } = {}) {
    const { size } = await stat(path);
    if (size > MAX_OBJECT_BYTES) throw new Error(`${path} is larger than 5 GiB`);
    // Small files go up from memory, so the SDK can retry them; larger ones are streamed.
    const inMemory = size <= this.inMemoryUploadBytes ? await readFile(path) : undefined;
    const md5 = createHash('md5');
    if (inMemory) md5.update(inMemory);
    else await pipeline(createReadStream(path), md5);
    const digest = md5.digest('base64');
    try {
      await this.write(() => ({
        Bucket: this.bucket,
        Key: key,
        Body: inMemory ?? createReadStream(path),
        ContentLength: size,
        // S3 services check the bytes they received against it (BadDigest otherwise).
        ContentMD5: digest,
        ContentType: key.endsWith('.json') ? 'application/json' : 'application/octet-stream',
        ...(options.create ? { IfNoneMatch: '*' } : {}),
      }));
    } catch (err) {
      if (status(err) === 412) throw err;
      throw this.fail(`cannot upload ${key}`, err);
    }
  }

  /**
   * Writes an object. A conditional write that the service does not implement (an older
   * S3-compatible server answers 501) is sent again without its condition.
   */
  private async write(makeInput: () => PutObjectCommandInput): Promise<void> {
    const input = makeInput();
    try {
      await this.client.send(new PutObjectCommand(input));
    } catch (err) {
      if (input.Body instanceof Readable) input.Body.destroy();
      const conditional = input.IfNoneMatch !== undefined || input.IfMatch !== undefined;
      if (!conditional || !(status(err) === 501 || nameOf(err) === 'NotImplemented')) throw err;
      const { IfNoneMatch: _n, IfMatch: _m, ...plain } = makeInput();
      await this.client.send(new PutObjectCommand(plain));
    }
  }

  async localDir(name: string, version: number): Promise<string> {
    const base = this.versionPrefix(name, version);
    const target = join(this.cacheDir, name, String(version));
    if (await fileExists(join(target, MANIFEST))) return target;
    const key = `${name}@${version}`;
    let pending = this.downloads.get(key);
    if (!pending) {
      pending = this.download(name, version, base, target).finally(() =>
        this.downloads.delete(key),
      );
      this.downloads.set(key, pending);
    }
    return pending;
  }

  private async download(
    name: string,
    version: number,
    base: string,
    target: string,
  ): Promise<string> {
    if (!(await this.has(name, version))) {
      throw Object.assign(
        new Error(`model ${name} version ${version} is not in the store ${this.location}`),
        { code: 'ENOENT' },
      );
    }
    const keys = await this.list(base);
    const files = keys.map((k) => k.slice(base.length)).filter((f) => f && !f.endsWith('/'));
    for (const file of files) {
      if (file.split('/').some((part) => part === '' || part === '.' || part === '..')) {
        throw new Error(`refusing to download ${base}${file}: not a plain relative path`);
      }
    }
    const parent = join(this.cacheDir, name);
    await mkdir(parent, { recursive: true });
    // Download under a temporary name, then rename: a cache folder is whole or absent.
    const staging = join(parent, `.download-${version}-${randomUUID().slice(0, 8)}`);
    try {
      await eachLimit(files, CONCURRENCY, (file) =>
        this.fetchTo(base + file, join(staging, ...file.split('/'))),
      );
      try {
        await rename(staging, target);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
        // Another process cached it first (keep theirs), or an unusable folder is in the way.
        if (!(await fileExists(join(target, MANIFEST)))) {
          await rm(target, { recursive: true, force: true });
          await rename(staging, target);
        }
      }
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    return target;
  }

  private async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client
        .send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            ContinuationToken: token,
          }),
        )
        .catch((err: unknown) => {
          throw this.fail(`cannot list ${prefix}`, err);
        });
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  private async fetchTo(key: string, path: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    const object = await this.client
      .send(new GetObjectCommand({ Bucket: this.bucket, Key: key }))
      .catch((err: unknown) => {
        throw this.fail(`cannot download ${key}`, err);
      });
    if (!(object.Body instanceof Readable)) throw new Error(`no body for ${key}`);
    let bytes = 0;
    await pipeline(
      object.Body,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          bytes += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(path),
    );
    if (object.ContentLength !== undefined && bytes !== object.ContentLength) {
      throw new Error(`${key}: downloaded ${bytes} bytes of ${object.ContentLength}`);
    }
  }

  /** The object's metadata, or undefined when it does not exist. */
  private async head(key: string): Promise<HeadObjectCommandOutput | undefined> {
    try {
      return await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (status(err) === 404 || nameOf(err) === 'NotFound' || nameOf(err) === 'NoSuchKey') {
        return undefined;
      }
      throw this.fail(`cannot read ${key}`, err);
    }
  }

  backbonesDir(): string {
    return this.backbones;
  }

  /** A cheap authenticated request: HeadBucket. */
  async ping(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), {
        abortSignal: AbortSignal.timeout(this.pingTimeoutMs),
      });
    } catch (err) {
      throw this.fail('unreachable', err);
    }
  }

  /** Closes the client's connections. */
  close(): void {
    this.client.destroy();
  }

  /** An error naming the store and the cause in words (SDK errors are often bare codes). */
  private fail(what: string, err: unknown): Error {
    return new Error(`model store ${this.location}: ${what}: ${explain(err, this.bucket)}`, {
      cause: err,
    });
  }
}

function alreadyExists(name: string, version: number): Error {
  return new Error(`model ${name} version ${version} already exists in the store`);
}

function busy(name: string, version: number): Error {
  return new Error(
    `model ${name} version ${version} is being published by another process; try again later`,
  );
}

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode;
}

function nameOf(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}

/** Says what went wrong in words an operator can act on. */
export function explain(err: unknown, bucket: string): string {
  const code = status(err);
  const name = nameOf(err);
  if (code === 403)
    return 'access denied (check AQUAML_S3_ACCESS_KEY_ID and AQUAML_S3_SECRET_ACCESS_KEY)';
  if (code === 404 && (name === 'NotFound' || name === 'NoSuchBucket')) {
    return `bucket "${bucket}" does not exist`;
  }
  if (code === 301) return 'the bucket is in another region (set AQUAML_S3_REGION)';
  if (name === 'AbortError' || name === 'TimeoutError') return 'no answer in time';
  if (name === 'CredentialsProviderError') {
    return 'no credentials (set AQUAML_S3_ACCESS_KEY_ID and AQUAML_S3_SECRET_ACCESS_KEY, or configure the AWS credential chain)';
  }
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  if (errno) {
    const what: Record<string, string> = {
      ECONNREFUSED: 'connection refused',
      ENOTFOUND: 'host not found',
      ETIMEDOUT: 'connection timed out',
      ECONNRESET: 'connection reset',
      EHOSTUNREACH: 'host unreachable',
    };
    return `${what[errno] ?? 'network error'} (${errno})`;
  }
  const message = err instanceof Error && err.message !== 'UnknownError' ? err.message : '';
  return [code ? `HTTP ${code}` : undefined, name, message].filter(Boolean).join(' ') || 'failed';
}

/** Every file below `dir` (symbolic links followed), as `/`-separated relative paths. */
async function listFiles(dir: string, under = ''): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(join(dir, under), { withFileTypes: true })) {
    const rel = under ? `${under}/${entry.name}` : entry.name;
    const info = entry.isSymbolicLink() ? await stat(join(dir, rel)) : entry;
    if (info.isDirectory()) files.push(...(await listFiles(dir, rel)));
    else if (info.isFile()) files.push(rel);
  }
  return files.sort();
}

async function fileExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function eachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
