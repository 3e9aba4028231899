import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, DEV_JWT_SECRET, loadConfig } from '../../src/config.ts';
import { assertModelName } from '../../src/ml/artifact/model-name.ts';

function project(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'aquaml-config-'));
  mkdirSync(join(dir, 'config'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const load = (env: Record<string, string>, files?: Record<string, string>) =>
  loadConfig({ env, rootDir: project(files) });

function assertRejects(setting: string, fn: () => unknown) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.setting, setting);
    assert.match(err.message, new RegExp(setting));
    return true;
  });
}

test('defaults give an embedded development setup on port 8000', () => {
  const c = load({});
  assert.equal(c.env, 'development');
  assert.equal(c.port, 8000);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(load({ NODE_ENV: 'staging', AQUAML_JWT_SECRET: 'b'.repeat(40) }).host, '0.0.0.0');
  assert.equal(c.databaseUrl, undefined);
  assert.match(c.dataDir, /data$/);
  assert.equal(c.models.storeDir, join(c.dataDir, 'models'));
});

test('environment beats .env, which beats config/<env>.yaml', () => {
  const files = {
    'config/staging.yaml': 'port: 7000\nlog_level: debug\nrate_limit:\n  max: 42\n',
    '.env': 'NODE_ENV=staging\nLOG_LEVEL=warn\n',
  };
  const c = load({ PORT: '9100', JWT_SECRET: 'b'.repeat(40) }, files);
  assert.equal(c.env, 'staging');
  assert.equal(c.port, 9100);
  assert.equal(c.logLevel, 'warn');
  assert.equal(c.rateLimit.max, 42);
});

test('invalid values stop start-up naming the setting', () => {
  assertRejects('PORT', () => load({ PORT: 'eighty' }));
  assertRejects('PORT', () => load({ PORT: '70000' }));
  assertRejects('LOG_LEVEL', () => load({ LOG_LEVEL: 'loud' }));
  assertRejects('NODE_ENV', () => load({ NODE_ENV: 'prod' }));
  assertRejects('DATABASE_URL', () => load({ DATABASE_URL: 'mysql://x' }));
  assertRejects('REDIS_URL', () => load({ REDIS_URL: 'not a url' }));
  assertRejects('AQUAML_JWT_SECRET', () => load({ JWT_SECRET: 'short' }));
  assertRejects('AQUAML_ALLOW_EMBEDDED_DB', () => load({ AQUAML_ALLOW_EMBEDDED_DB: 'maybe' }));
});

test('production refuses the default JWT secret and the embedded database', () => {
  const secret = 'a'.repeat(48);
  assertRejects('AQUAML_JWT_SECRET', () =>
    load({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/aq' }),
  );
  assertRejects('AQUAML_JWT_SECRET', () =>
    load({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/aq', JWT_SECRET: DEV_JWT_SECRET }),
  );
  assertRejects('DATABASE_URL', () => load({ NODE_ENV: 'production', JWT_SECRET: secret }));
  const allowed = load({
    NODE_ENV: 'production',
    JWT_SECRET: secret,
    AQUAML_ALLOW_EMBEDDED_DB: 'true',
  });
  assert.equal(allowed.databaseUrl, undefined);
  const ok = load({ NODE_ENV: 'production', JWT_SECRET: secret, DATABASE_URL: 'postgres://db/aq' });
  assert.equal(ok.env, 'production');
});

test('every environment but development and test refuses the public default JWT secret', () => {
  assertRejects('AQUAML_JWT_SECRET', () => load({ NODE_ENV: 'staging' }));
  assertRejects('AQUAML_JWT_SECRET', () =>
    load({ NODE_ENV: 'staging', JWT_SECRET: DEV_JWT_SECRET, DATABASE_URL: 'postgres://db/aq' }),
  );
  assert.equal(load({ NODE_ENV: 'development' }).jwt.secret, DEV_JWT_SECRET);
  assert.equal(load({ NODE_ENV: 'test' }).jwt.secret, DEV_JWT_SECRET);
  assert.equal(load({ NODE_ENV: 'staging', JWT_SECRET: 'c'.repeat(40) }).env, 'staging');
});

test('proxies are trusted only when listed (AQUAML_TRUST_PROXY or TRUST_PROXY)', () => {
  assert.equal(load({}).trustProxy, false);
  assert.equal(load({ TRUST_PROXY: 'false' }).trustProxy, false);
  assert.deepEqual(load({ TRUST_PROXY: '10.0.0.0/8, loopback' }).trustProxy, [
    '10.0.0.0/8',
    'loopback',
  ]);
  assert.deepEqual(load({ AQUAML_TRUST_PROXY: '::1' }).trustProxy, ['::1']);
  assert.equal(load({ AQUAML_TRUST_PROXY: '1' }).trustProxy, 1);
  // The former name still works and the error names the current one.
  assertRejects('AQUAML_TRUST_PROXY', () => load({ TRUST_PROXY: 'true' }));
  assertRejects('AQUAML_TRUST_PROXY', () => load({ AQUAML_TRUST_PROXY: 'proxy.local' }));
});

test('the admin password needs the admin username and email', () => {
  assertRejects('AQUAML_ADMIN_USERNAME', () => load({ AQUAML_ADMIN_PASSWORD: 'x'.repeat(12) }));
});

test('settings carry the AQUAML_ prefix; the former names still work and are reported as deprecated', () => {
  const c = load({
    JWT_SECRET: 'b'.repeat(40),
    RATE_LIMIT_MAX: '7',
    AQUAML_INFERENCE_THREADS: '3',
  });
  assert.equal(c.jwt.secret, 'b'.repeat(40));
  assert.equal(c.rateLimit.max, 7);
  assert.equal(c.models.backboneThreads, 3);
  assert.deepEqual(c.deprecations.sort(), [
    'AQUAML_INFERENCE_THREADS is deprecated; use AQUAML_TRAINING_THREADS',
    'JWT_SECRET is deprecated; use AQUAML_JWT_SECRET',
    'RATE_LIMIT_MAX is deprecated; use AQUAML_RATE_LIMIT_MAX',
  ]);
  // The new name wins over the old one; YAML keys (prefix implied) are not deprecated.
  const both = load(
    { AQUAML_RATE_LIMIT_MAX: '9', RATE_LIMIT_MAX: '7', AQUAML_TRAINING_THREADS: '4' },
    { 'config/development.yaml': 'rate_limit:\n  window_ms: 5000\n' },
  );
  assert.equal(both.rateLimit.max, 9);
  assert.equal(both.rateLimit.windowMs, 5000);
  assert.equal(both.models.backboneThreads, 4);
  assert.deepEqual(both.deprecations, ['RATE_LIMIT_MAX is deprecated; use AQUAML_RATE_LIMIT_MAX']);
  assert.deepEqual(load({}).deprecations, []);
});

test('the default health model name is one the registry accepts', () => {
  const c = load({});
  assert.equal(c.serving.healthModel, 'fish-health');
  assert.doesNotThrow(() => assertModelName(c.serving.healthModel));
  assert.doesNotThrow(() => assertModelName(c.serving.defaultModel));
});

test('the MQTT ingest session: one client id per deployment, a session expiry and a lease time', () => {
  const c = load({ AQUAML_REDIS_PREFIX: 'farm-2' });
  assert.equal(c.telemetry.mqttClientId, 'aquaml-ingest-farm-2');
  assert.equal(c.telemetry.mqttSessionExpirySeconds, 7 * 86_400);
  assert.equal(c.telemetry.mqttLeaseTtlMs, 10_000);
  assert.equal(load({ MQTT_CLIENT_ID: 'pond-ingest' }).telemetry.mqttClientId, 'pond-ingest');
  assertRejects('MQTT_CLIENT_ID', () => load({ MQTT_CLIENT_ID: 'two words' }));
  assertRejects('MQTT_SESSION_EXPIRY_SECONDS', () => load({ MQTT_SESSION_EXPIRY_SECONDS: '5' }));
  assertRejects('AQUAML_MQTT_LEASE_TTL_MS', () => load({ AQUAML_MQTT_LEASE_TTL_MS: '10' }));
});
