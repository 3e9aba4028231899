import { loadConfig } from '../config.ts';
import { type AppContext, createContext } from '../context.ts';
import type { ProcessRole } from '../modules/app-services.ts';
import { DirLockedError } from '../db/dir-lock.ts';
import { createLogger } from '../logger.ts';
import { ADMIN_COMMANDS, type AdminCommand } from './admin-commands.ts';
import { viaAdminSocket } from './admin-socket.ts';

/** Runs a CLI command inside a context (database opened and migrated), and closes it after. */
export async function withContext<T>(
  fn: (ctx: AppContext) => Promise<T>,
  options: { role?: ProcessRole; migrate?: boolean } = {},
): Promise<T> {
  const config = loadConfig();
  // Commands print their own results; only warnings and errors are logged.
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const ctx = await createContext(config, {
    role: options.role ?? 'cli',
    logger,
    migrate: options.migrate,
  });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

/**
 * Runs an admin command here, or, when a running server holds the embedded database, inside that
 * server through its admin socket; prints its lines.
 */
export async function runAdminCommand<C extends AdminCommand>(
  command: C,
  args: Parameters<(typeof ADMIN_COMMANDS)[C]>[1],
): Promise<void> {
  let lines: string[];
  try {
    lines = await withContext((ctx) => ADMIN_COMMANDS[command](ctx, args as never));
  } catch (err) {
    if (!(err instanceof DirLockedError)) throw err;
    const remote = await viaAdminSocket(loadConfig(), command, args);
    if (!remote) throw err;
    lines = remote;
  }
  for (const line of lines) console.log(line);
}
