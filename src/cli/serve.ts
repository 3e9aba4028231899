import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { createContext, type ProcessRole } from '../context.ts';
import { buildApp } from '../http/app.ts';

async function run(role: ProcessRole, port?: string): Promise<void> {
  const config = loadConfig({ overrides: port ? { PORT: port } : {} });
  const started = performance.now();
  const ctx = await createContext(config, { role });
  const log = ctx.logger;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  if (role !== 'worker') {
    app = await buildApp(ctx);
    await app.listen({ port: config.port, host: config.host });
  }
  log.info(
    {
      role,
      port: app ? config.port : undefined,
      database: ctx.database.kind,
      startup_ms: Math.round(performance.now() - started),
    },
    `AquaML ${role} started${app ? ` on http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port}` : ''}`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // Stop accepting first, then drain; a second signal forces the exit.
    process.once('SIGINT', () => process.exit(1));
    process.once('SIGTERM', () => process.exit(1));
    try {
      await app?.close();
      await ctx.close();
      log.info('stopped');
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'unclean shutdown');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

export function registerServeCommands(program: Command): void {
  program
    .command('serve', { isDefault: true })
    .description('Run everything in one process: API, worker and embedded services (default)')
    .option('-p, --port <port>', 'HTTP port (default PORT or 8000)')
    .action((opts: { port?: string }) => run('serve', opts.port));
  program
    .command('api')
    .description('Run the HTTP API only (scale-out: pair with one or more workers)')
    .option('-p, --port <port>', 'HTTP port (default PORT or 8000)')
    .action((opts: { port?: string }) => run('api', opts.port));
  program
    .command('worker')
    .description('Run the job worker only: async and batch inference, training, evaluation')
    .action(() => run('worker'));
}
