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
      queue: ctx.queue.kind,
      task_types: ctx.taskRunner.started ? ctx.taskRunner.types() : undefined,
      startup_ms: Math.round(performance.now() - started),
    },
    `AquaML ${role} started${app ? ` on http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port}` : ''}`,
  );

  // Models load after the server listens: /health answers at once, /ready once they are loaded.
  const modelsStarted = performance.now();
  void ctx.startServing().then(
    () =>
      log.info(
        {
          models: ctx.serving.runtime.loaded(),
          load_ms: Math.round(performance.now() - modelsStarted),
        },
        'models loaded; ready',
      ),
    (err: unknown) =>
      log.error({ err }, 'loading the served models failed; /ready stays not ready'),
  );

  if (role === 'worker' && ctx.queue.kind === 'memory') {
    log.warn('worker without REDIS_URL: it runs only the tasks it finds in its own database');
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // Stop accepting first, then drain (HTTP, then the task runner finishes or returns its jobs
    // inside ctx.close()); a second signal forces the exit.
    process.once('SIGINT', () => process.exit(1));
    process.once('SIGTERM', () => process.exit(1));
    try {
      if (app) {
        // Not ready from now on (load balancers stop sending); keep serving what is on its way.
        ctx.health.waitFor('shutdown');
        await new Promise((r) => setTimeout(r, config.shutdownGraceMs));
      }
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
