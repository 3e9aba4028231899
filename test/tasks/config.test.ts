import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';

const load = (overrides: Record<string, string>) =>
  loadConfig({ env: {}, overrides: { NODE_ENV: 'test', ...overrides } });

test('task queue settings: Redis prefix, back-off and shutdown timeout', () => {
  const defaults = load({});
  assert.equal(defaults.redisPrefix, 'aquaml');
  assert.equal(defaults.queue.backoffBaseMs, 1_000);
  assert.equal(defaults.queue.shutdownTimeoutMs, 20_000);

  const custom = load({
    AQUAML_REDIS_PREFIX: 'farm-2.staging',
    QUEUE_BACKOFF_MS: '250',
    WORKER_SHUTDOWN_TIMEOUT_MS: '0',
  });
  assert.equal(custom.redisPrefix, 'farm-2.staging');
  assert.equal(custom.queue.backoffBaseMs, 250);
  assert.equal(custom.queue.shutdownTimeoutMs, 0);

  for (const bad of ['a:b', '-x', 'has space', 'x'.repeat(65)]) {
    assert.throws(
      () => load({ AQUAML_REDIS_PREFIX: bad }),
      (err: unknown) => err instanceof ConfigError && err.setting === 'AQUAML_REDIS_PREFIX',
    );
  }
  assert.throws(
    () => load({ AQUAML_QUEUE_BACKOFF_MS: 'soon' }),
    (err: unknown) => err instanceof ConfigError && err.setting === 'AQUAML_QUEUE_BACKOFF_MS',
  );
});
