// A local admin socket: the embedded database belongs to the server process that holds its lock,
// so CLI commands that must work while it runs (users create/list, models list) are sent to it.
// A unix socket in the data dir, readable and writable by its owner only (0600), like the
// database files next to it.
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { AppConfig } from '../config.ts';
import type { AppContext } from '../context.ts';
import { ADMIN_COMMANDS, type AdminCommand, isAdminCommand } from './admin-commands.ts';
import { CliError } from './errors.ts';

export const adminSocketPath = (config: AppConfig) => join(config.dataDir, 'aquaml.sock');

interface Reply {
  ok: boolean;
  lines?: string[];
  error?: string;
}

/** Bytes a request may have: a command and its few arguments. */
const MAX_REQUEST = 64 * 1024;

/** Serves the admin commands on the socket; resolves to a function that closes it. */
export async function startAdminSocket(ctx: AppContext): Promise<() => Promise<void>> {
  const path = adminSocketPath(ctx.config);
  // This process holds the data dir's lock, so a socket file left here is from a dead server.
  rmSync(path, { force: true });
  const server: Server = createServer((socket) => {
    let input = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      input += chunk;
      if (input.length > MAX_REQUEST) return socket.destroy();
      const end = input.indexOf('\n');
      if (end < 0) return;
      void answer(ctx, input.slice(0, end)).then((reply) =>
        socket.end(`${JSON.stringify(reply)}\n`),
      );
    });
  });
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
  } finally {
    process.umask(umask);
  }
  chmodSync(path, 0o600);
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      rmSync(path, { force: true });
    });
}

async function answer(ctx: AppContext, line: string): Promise<Reply> {
  let request: { command?: unknown; args?: unknown };
  try {
    request = JSON.parse(line) as typeof request;
  } catch {
    return { ok: false, error: 'the request is not JSON' };
  }
  if (!isAdminCommand(request.command)) return { ok: false, error: 'unknown admin command' };
  const args = (request.args ?? {}) as never;
  try {
    return { ok: true, lines: await ADMIN_COMMANDS[request.command](ctx, args) };
  } catch (err) {
    if (err instanceof CliError) return { ok: false, error: err.message };
    ctx.logger.error({ err, command: request.command }, 'admin socket command failed');
    return { ok: false, error: `the server could not run ${request.command}; see its log` };
  }
}

/** Runs a command in the server that owns the data dir; undefined when no server listens. */
export async function viaAdminSocket(
  config: AppConfig,
  command: AdminCommand,
  args: unknown,
): Promise<string[] | undefined> {
  const path = adminSocketPath(config);
  if (!existsSync(path)) return undefined;
  const text = await new Promise<string | undefined>((resolve, reject) => {
    const socket = createConnection(path);
    let out = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ command, args })}\n`));
    socket.on('data', (chunk: string) => (out += chunk));
    socket.on('end', () => resolve(out));
    socket.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? resolve(undefined) : reject(err),
    );
  });
  if (text === undefined) return undefined;
  const reply = JSON.parse(text) as Reply;
  if (!reply.ok) throw new CliError(reply.error ?? 'the server refused the command');
  return reply.lines ?? [];
}
