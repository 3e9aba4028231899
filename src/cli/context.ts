import { loadConfig } from '../config.ts';
import { type AppContext, createContext, type ProcessRole } from '../context.ts';
import { createLogger } from '../logger.ts';

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
