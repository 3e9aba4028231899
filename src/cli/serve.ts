import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { createContext } from '../context.ts';
import type { ProcessRole } from '../modules/app-services.ts';
import { buildApp, buildOpsApp } from '../http/app.ts';
import { startAdminSocket } from './admin-socket.ts';
import { CliError } from './errors.ts';

/** A port in use or not allowed becomes one line naming the port and the setting that changes it. */
function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return new CliError(
      `port ${port} is already in use (another AquaML, or another program): set PORT or pass --port to use another one`,
    );
  }
  if (code === 'EACCES') {
    return new CliError(
      `not allowed to listen on ${host}:${port}: set PORT (or --port) above 1023`,
    );
  }
  if (code === 'EADDRNOTAVAIL') {
    return new CliError(`HOST=${host} is not an address of this machine`);
  }
  return err;
}
import { startDemo } from '../modules/telemetry/simulator/demo.ts';

async function run(role: ProcessRole, port?: string): Promise<void> {
  const config = loadConfig({ overrides: port ? { PORT: port } : {} });
  const started = performance.now();
  const ctx = await createContext(config, { role });
  const log = ctx.logger;
  let closeAdminSocket: (() => Promise<void>) | undefined;
  for (const line of config.deprecations) log.warn(line);
  // The worker listens too, for probes and /metrics only.
  const app = role === 'worker' ? await buildOpsApp(ctx) : await buildApp(ctx);
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await app.close().catch(() => undefined);
    await ctx.close();
    throw listenError(err, config.host, config.port);
  }
  log.info(
    {
      role,
      port: config.port,
      database: ctx.database.kind,
      queue: ctx.queue.kind,
      task_types: ctx.taskRunner.started ? ctx.taskRunner.types() : undefined,
      startup_ms: Math.round(performance.now() - started),
    },
    `AquaML ${role} started on http://${['0.0.0.0', '127.0.0.1', '::'].includes(config.host) ? 'localhost' : config.host}:${config.port}`,
  );

  // With the embedded database this process holds its lock: CLI commands reach it by this socket.
  if (ctx.database.kind === 'pglite') {
    try {
      const closeSocket = await startAdminSocket(ctx);
      process.once('exit', () => void closeSocket());
      closeAdminSocket = closeSocket;
    } catch (err) {
      // A data dir path too long for a unix socket, say: the server runs, the CLI waits for it.
      log.warn({ err }, 'no admin socket: CLI commands will need the server stopped');
    }
  }

  // AQUAML_DEMO=1: a demo farm fed by the simulator, so a fresh clone has water to show.
  const stopDemo =
    config.telemetry.demo && role !== 'worker'
      ? await startDemo(ctx.db, ctx.farms, ctx.telemetry.ingest, log)
      : undefined;

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
      // Not ready from now on (load balancers stop sending); keep serving what is on its way.
      ctx.probes.waitFor('shutdown');
      await new Promise((r) => setTimeout(r, config.shutdownGraceMs));
      await closeAdminSocket?.();
      await stopDemo?.();
      await app.close();
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
