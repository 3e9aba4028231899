// The Dockerfile and compose.yaml, checked offline (no Docker engine here): every path the
// Dockerfile copies exists and is not excluded by .dockerignore, its command is a real CLI command,
// its HEALTHCHECK probes a real public route, the image and compose listen on every interface,
// compose's settings are the app's current names, Prometheus sends the monitoring token, and
// `docker-compose config` accepts compose.yaml.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { loadConfig, RENAMED_SETTINGS } from '../../src/config.ts';
import { MONITORING_TOKEN, startTestApp } from '../support/app.ts';
import { DEPLOY, ROOT, settingNames, toolSkip, unknownCommands } from './support.ts';

/** Dockerfile instructions, continuation lines joined. */
function instructions(): { op: string; args: string }[] {
  return readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

test('every path the Dockerfile copies from the context exists and is sent to the build', () => {
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages = new Set<string>();
  let copies = 0;
  for (const { op, args } of instructions()) {
    if (op === 'FROM') {
      const as = /\bAS\s+(\S+)/i.exec(args);
      if (as) stages.add(as[1]!);
      continue;
    }
    if (op !== 'COPY') continue;
    const parts = args.split(/\s+/);
    const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
    const paths = parts.filter((p) => !p.startsWith('--'));
    const sources = paths.slice(0, -1);
    if (from) {
      assert.ok(stages.has(from), `COPY --from=${from}: no such stage before it`);
      continue;
    }
    for (const source of sources) {
      copies += 1;
      assert.ok(existsSync(resolve(ROOT, source)), `COPY ${source}: not in the build context`);
      const top = source.replace(/^\.\//, '').split('/')[0]!;
      assert.ok(!ignored.includes(top), `COPY ${source}: excluded by .dockerignore`);
    }
  }
  assert.ok(copies >= 8, `only ${copies} paths copied`);
});

test('the image runs as a non-root user and installs production dependencies only', () => {
  const ins = instructions();
  const runtimeFrom = ins.map((i) => i.op).lastIndexOf('FROM');
  const users = ins.slice(runtimeFrom).filter((i) => i.op === 'USER');
  assert.equal(users.length, 1);
  assert.notEqual(users[0]!.args, 'root');
  assert.ok(ins.some((i) => i.op === 'RUN' && /npm ci --omit=dev/.test(i.args)));
  assert.ok(ins.some((i) => i.op === 'RUN' && /models build-backbone/.test(i.args)));
});

test("the image's command and compose's commands are real CLI commands", () => {
  const ins = instructions();
  const entry = JSON.parse(ins.find((i) => i.op === 'ENTRYPOINT')!.args) as string[];
  const cmd = JSON.parse(ins.findLast((i) => i.op === 'CMD')!.args) as string[];
  assert.deepEqual(entry, ['node', 'bin/aquaml.js']);
  const compose = parse(readFileSync(join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true }) as {
    services: Record<string, { command?: string[]; build?: unknown }>;
  };
  const ours = Object.values(compose.services).filter((s) => s.build !== undefined);
  assert.ok(ours.length >= 3);
  const commands = [cmd, ...ours.map((s) => s.command ?? cmd)];
  assert.deepEqual(unknownCommands(commands), []);
  assert.deepEqual(unknownCommands([['sevre'], ['models', 'build-backbones']]), [
    'sevre',
    'models build-backbones',
  ]);
});

test('the HEALTHCHECK probes a real public route', async () => {
  const health = instructions().find((i) => i.op === 'HEALTHCHECK')!.args;
  const path = /'\/([a-z/]+)'\)/.exec(health)?.[1];
  assert.ok(path, health);
  const t = await startTestApp();
  try {
    const res = await t.app.inject({ url: `/${path}` });
    assert.equal(res.statusCode, 200, res.body);
  } finally {
    await t.close();
  }
});

test('the image listens on every interface of the container, on the port it exposes', () => {
  const ins = instructions();
  const runtime = ins.slice(ins.map((i) => i.op).lastIndexOf('FROM'));
  const env = Object.fromEntries(
    runtime
      .filter((i) => i.op === 'ENV')
      .flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!])),
  );
  // The app's default outside production is 127.0.0.1: HEALTHCHECK alone would not notice.
  assert.equal(env.HOST, '0.0.0.0');
  assert.equal(runtime.find((i) => i.op === 'EXPOSE')?.args, env.PORT);
  for (const name of Object.keys(env)) assert.equal(RENAMED_SETTINGS[name], undefined, name);
});

interface ComposeService {
  build?: unknown;
  environment?: Record<string, string>;
  entrypoint?: string[];
  tmpfs?: string[];
}
interface Compose {
  services: Record<string, ComposeService>;
  networks: { default: { ipam: { config: { subnet: string }[] } } };
}

/** compose's ${VAR:-default} gives the default, ${VAR:?message} (a required secret) a stand-in. */
function interpolate(value: string): string {
  return value.replace(/\$\{\w+(?::-([^}]*)|:\?[^}]*)\}/g, (_, fallback?: string) =>
    fallback === undefined ? 'x'.repeat(48) : fallback,
  );
}

test("compose's api and worker: current settings, every interface, trusted network, token", () => {
  const compose = parse(readFileSync(join(DEPLOY, 'compose.yaml'), 'utf8'), {
    merge: true,
  }) as Compose;
  const settings = settingNames();
  const subnet = compose.networks.default.ipam.config[0]!.subnet;
  const required = /^\$\{AQUAML_METRICS_TOKEN:\?[^}]+\}$/;
  for (const name of ['api', 'worker']) {
    const env = compose.services[name]!.environment!;
    for (const key of Object.keys(env)) {
      const current = RENAMED_SETTINGS[key];
      assert.equal(current, undefined, `${name}: ${key} is deprecated; use ${current}`);
      assert.ok(settings.has(key), `${name}: ${key} is not a setting of src/config.ts`);
    }
    assert.match(env.AQUAML_METRICS_TOKEN!, required, `${name}: compose requires the token`);
    const config = loadConfig({
      env: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(String(v))])),
      rootDir: ROOT,
    });
    assert.deepEqual(config.deprecations, [], name);
    assert.equal(config.host, '0.0.0.0', `${name}: HOST`);
    assert.deepEqual(config.trustProxy, [subnet], `${name}: trusts the compose network only`);
    assert.ok(config.security.metricsToken && !config.security.metricsPublic, name);
  }
  // Prometheus gets the same variable and writes it where prometheus.yml reads it.
  const prometheus = compose.services.prometheus!;
  assert.match(prometheus.environment!.AQUAML_METRICS_TOKEN!, required);
  const scrape = parse(readFileSync(join(DEPLOY, 'prometheus/prometheus.yml'), 'utf8')) as {
    scrape_configs: {
      job_name: string;
      authorization?: { type: string; credentials_file: string };
    }[];
  };
  const jobs = scrape.scrape_configs.filter((j) => j.job_name.startsWith('aquaml-'));
  assert.deepEqual(jobs.map((j) => j.job_name).sort(), ['aquaml-api', 'aquaml-worker']);
  for (const job of jobs) {
    const file = job.authorization?.credentials_file;
    assert.equal(job.authorization?.type, 'Bearer', job.job_name);
    assert.ok(file, `${job.job_name}: no token`);
    assert.ok(prometheus.entrypoint!.join(' ').includes(`"$$AQUAML_METRICS_TOKEN" > ${file}`));
    assert.ok(
      prometheus.tmpfs!.some((dir) => file.startsWith(`${dir}/`)),
      `${file} on a tmpfs`,
    );
  }
});

test('the token compose hands Prometheus opens the guarded /metrics; probes stay public', async () => {
  const t = await startTestApp();
  try {
    for (const url of ['/health', '/live']) {
      assert.equal((await t.app.inject({ url })).statusCode, 200, url);
    }
    for (const url of ['/metrics', '/health/detailed']) {
      assert.equal((await t.app.inject({ url })).statusCode, 401, `${url} without the token`);
      const res = await t.app.inject({
        url,
        headers: { authorization: `Bearer ${MONITORING_TOKEN}` },
      });
      assert.equal(res.statusCode, 200, `${url} with the token`);
    }
  } finally {
    await t.close();
  }
});

test('compose.yaml mounts files that exist', () => {
  const compose = parse(readFileSync(join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true }) as {
    services: Record<string, { volumes?: string[] }>;
  };
  for (const [name, s] of Object.entries(compose.services))
    for (const v of s.volumes ?? []) {
      const source = v.split(':')[0]!;
      if (source.startsWith('.'))
        assert.ok(existsSync(resolve(DEPLOY, source)), `${name}: ${source} does not exist`);
    }
});

const composeSkip = toolSkip('docker-compose', ['version'], 'apt-get install -y docker-compose');
test('docker-compose config accepts compose.yaml', { skip: composeSkip }, () => {
  const r = spawnSync('docker-compose', ['-f', join(DEPLOY, 'compose.yaml'), 'config', '--quiet'], {
    encoding: 'utf8',
    env: {
      ...process.env,
      POSTGRES_PASSWORD: 'check',
      AQUAML_JWT_SECRET: 'check',
      AQUAML_METRICS_TOKEN: 'check',
      GRAFANA_ADMIN_PASSWORD: 'check',
    },
  });
  assert.equal(r.status, 0, r.stderr);
  const noToken = spawnSync(
    'docker-compose',
    ['-f', join(DEPLOY, 'compose.yaml'), 'config', '--quiet'],
    {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        POSTGRES_PASSWORD: 'check',
        AQUAML_JWT_SECRET: 'check',
        GRAFANA_ADMIN_PASSWORD: 'check',
      },
    },
  );
  assert.notEqual(noToken.status, 0, 'compose refuses to start without the monitoring token');
  assert.match(noToken.stderr, /AQUAML_METRICS_TOKEN/);
  const missing = spawnSync(
    'docker-compose',
    ['-f', join(DEPLOY, 'compose.yaml'), 'config', '--quiet'],
    {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    },
  );
  assert.notEqual(missing.status, 0, 'compose refuses to start without the secrets');
  assert.match(missing.stderr, /AQUAML_JWT_SECRET|AQUAML_METRICS_TOKEN|POSTGRES_PASSWORD/);
});
