import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, DEV_JWT_SECRET, loadConfig } from '../../src/config.ts';

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
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.databaseUrl, undefined);
  assert.match(c.dataDir, /data$/);
  assert.equal(c.models.storeDir, join(c.dataDir, 'models'));
});

test('environment beats .env, which beats config/<env>.yaml', () => {
  const files = {
    'config/staging.yaml': 'port: 7000\nlog_level: debug\nrate_limit:\n  max: 42\n',
    '.env': 'NODE_ENV=staging\nLOG_LEVEL=warn\n',
  };
  const c = load({ PORT: '9100' }, files);
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
  assertRejects('JWT_SECRET', () => load({ JWT_SECRET: 'short' }));
  assertRejects('AQUAML_ALLOW_EMBEDDED_DB', () => load({ AQUAML_ALLOW_EMBEDDED_DB: 'maybe' }));
});

test('production refuses the default JWT secret and the embedded database', () => {
  const secret = 'a'.repeat(48);
  assertRejects('JWT_SECRET', () =>
    load({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/aq' }),
  );
  assertRejects('JWT_SECRET', () =>
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

test('the admin password needs the admin username and email', () => {
  assertRejects('AQUAML_ADMIN_USERNAME', () => load({ AQUAML_ADMIN_PASSWORD: 'x'.repeat(12) }));
});
