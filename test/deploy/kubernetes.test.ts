// deploy/k8s, rendered offline by `kubectl kustomize` for every overlay, checked against the app:
// probe paths are real public routes, container ports are the port the app listens on, every env
// name and ConfigMap key is a setting src/config.ts reads under its current (not deprecated) name,
// the values load as a configuration listening on every interface behind the ingress, and the
// ServiceMonitors present the monitoring token the pods read.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { loadConfig, RENAMED_SETTINGS } from '../../src/config.ts';
import { MONITORING_TOKEN, startTestApp, type TestApp } from '../support/app.ts';
import { DEPLOY, ROOT, settingNames, toolSkip, unknownCommands } from './support.ts';

const skip = toolSkip('kubectl', ['version', '--client'], 'apt-get install -y kubernetes-client');
const OVERLAYS = join(DEPLOY, 'k8s/overlays');

interface Probe {
  httpGet: { path: string; port: string | number };
}
interface Container {
  name: string;
  args?: string[];
  ports?: { name: string; containerPort: number }[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string } };
  }[];
  envFrom?: { configMapRef?: { name: string } }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: object; limits?: object };
}
interface Endpoint {
  port: string;
  path: string;
  authorization?: { type?: string; credentials?: { name: string; key: string } };
}
interface Resource {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: { template?: { spec: { containers: Container[] } }; endpoints?: Endpoint[] };
}

function render(overlay: string): Resource[] {
  const r = spawnSync('kubectl', ['kustomize', join(OVERLAYS, overlay)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Resource);
}

let t: TestApp;
before(async () => {
  if (!skip) t = await startTestApp();
});
after(() => t?.close());

const overlays = readdirSync(OVERLAYS);

test('overlays staging and production exist and render', { skip }, () => {
  assert.deepEqual(overlays.sort(), ['production', 'staging']);
  for (const o of overlays) {
    const kinds = new Set(render(o).map((r) => r.kind));
    for (const kind of [
      'Deployment',
      'Service',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
      'NetworkPolicy',
      'Ingress',
      'ServiceMonitor',
      'ConfigMap',
    ])
      assert.ok(kinds.has(kind), `${o}: no ${kind}`);
    assert.ok(!kinds.has('Secret'), `${o}: secrets are referenced, never committed`);
  }
});

for (const overlay of overlays) {
  test(`${overlay}: probes, ports, commands and settings match the app`, { skip }, async () => {
    const resources = render(overlay);
    const settings = settingNames();
    const configMaps = new Map(
      resources.filter((r) => r.kind === 'ConfigMap').map((r) => [r.metadata.name, r.data ?? {}]),
    );
    const deployments = resources.filter((r) => r.kind === 'Deployment');
    assert.ok(deployments.length >= 2);
    for (const d of deployments) {
      for (const c of d.spec!.template!.spec.containers) {
        const where = `${overlay} ${d.metadata.name}/${c.name}`;
        assert.ok(c.resources?.requests && c.resources.limits, `${where}: requests and limits`);
        assert.deepEqual(unknownCommands([c.args ?? []]), [], `${where}: args`);
        // Settings: every env name and ConfigMap key is read by src/config.ts ...
        const env: Record<string, string> = {};
        for (const ref of c.envFrom ?? []) {
          const data = configMaps.get(ref.configMapRef!.name);
          assert.ok(data, `${where}: ConfigMap ${ref.configMapRef!.name} is not in the overlay`);
          Object.assign(env, data);
        }
        for (const e of c.env ?? []) {
          if (e.valueFrom?.secretKeyRef) env[e.name] = placeholderFor(e.name);
          else env[e.name] = e.value ?? '';
        }
        for (const name of Object.keys(env)) {
          const current = RENAMED_SETTINGS[name];
          assert.equal(current, undefined, `${where}: ${name} is deprecated; use ${current}`);
          assert.ok(settings.has(name), `${where}: ${name} is not a setting of src/config.ts`);
        }
        // ... and together they load (production refuses defaults: this proves the secrets are wired).
        const config = loadConfig({ env, rootDir: ROOT });
        assert.deepEqual(config.deprecations, [], `${where}: deprecated settings`);
        // Reachable by the kubelet's probes and the ingress: not the development default 127.0.0.1.
        assert.equal(env.HOST, '0.0.0.0', `${where}: HOST is set explicitly`);
        assert.equal(config.host, '0.0.0.0', `${where}: listens on every interface`);
        // Behind ingress-nginx: the client address is the one the controller appends.
        assert.equal(config.trustProxy, 1, `${where}: AQUAML_TRUST_PROXY trusts the ingress hop`);
        // /metrics is guarded: the pod reads the token from the Secret the ServiceMonitors send.
        assert.deepEqual(
          c.env?.find((e) => e.name === 'AQUAML_METRICS_TOKEN')?.valueFrom?.secretKeyRef,
          METRICS_SECRET,
          `${where}: AQUAML_METRICS_TOKEN from the Secret aquaml-metrics-token`,
        );
        assert.ok(config.security.metricsToken && !config.security.metricsPublic, where);
        // Ports: the named port the probes use is the port the app listens on.
        const http = c.ports?.find((p) => p.name === 'http');
        assert.equal(http?.containerPort, config.port, `${where}: containerPort vs PORT`);
        // Probes: real public routes; liveness answers 200, readiness 200 or 503 while loading.
        for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
          const probe = c[kind];
          assert.ok(probe, `${where}: no ${kind}`);
          assert.equal(probe.httpGet.port, 'http', `${where}: ${kind} port`);
          const res = await t.app.inject({ url: probe.httpGet.path });
          const ok = kind === 'readinessProbe' ? [200, 503] : [200];
          assert.ok(
            ok.includes(res.statusCode),
            `${where}: ${kind} ${probe.httpGet.path} answered ${res.statusCode}`,
          );
        }
      }
    }
  });
}

const METRICS_SECRET = { name: 'aquaml-metrics-token', key: 'token' };

for (const overlay of overlays) {
  test(
    `${overlay}: the ServiceMonitors scrape a guarded /metrics with the token`,
    { skip },
    async () => {
      const monitors = render(overlay).filter((r) => r.kind === 'ServiceMonitor');
      assert.deepEqual(monitors.map((m) => m.metadata.name).sort(), [
        'aquaml-api',
        'aquaml-worker',
      ]);
      for (const m of monitors) {
        for (const e of m.spec!.endpoints!) {
          const where = `${overlay} ${m.metadata.name} ${e.path}`;
          assert.equal(e.authorization?.type, 'Bearer', where);
          assert.deepEqual(e.authorization?.credentials, METRICS_SECRET, where);
          const anonymous = await t.app.inject({ url: e.path });
          assert.equal(anonymous.statusCode, 401, `${where}: open without the token`);
          const scraped = await t.app.inject({
            url: e.path,
            headers: { authorization: `Bearer ${MONITORING_TOKEN}` },
          });
          assert.equal(scraped.statusCode, 200, `${where}: refused with the token`);
        }
      }
    },
  );
}

/** A syntactically valid stand-in for a secret's value (the Secret itself lives outside the repo). */
function placeholderFor(name: string): string {
  if (name === 'DATABASE_URL') return 'postgres://aquaml:secret@db.internal:5432/aquaml';
  if (name === 'REDIS_URL') return 'rediss://redis.internal:6379';
  return 'x'.repeat(48);
}

test('the settings check knows the app: PORT and DATABASE_URL yes, a typo no', () => {
  const names = settingNames();
  assert.ok(names.has('PORT') && names.has('DATABASE_URL') && names.has('AQUAML_MODEL_STORE_URL'));
  assert.ok(!names.has('DATABASE_URI'));
  // A deprecated name is caught twice: by the rename table and by the configuration's warnings.
  assert.equal(RENAMED_SETTINGS.JWT_SECRET, 'AQUAML_JWT_SECRET');
  assert.equal(RENAMED_SETTINGS.S3_REGION, 'AQUAML_S3_REGION');
  const old = loadConfig({ env: { NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(48) }, rootDir: ROOT });
  assert.deepEqual(old.deprecations, ['JWT_SECRET is deprecated; use AQUAML_JWT_SECRET']);
});
