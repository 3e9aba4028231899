// An `aquaml serve|api` process for the fault tests, with an admin, a farm, a unit and a sensor,
// spoken to over real HTTP.
import assert from 'node:assert/strict';
import { type RunningServer, startServer } from '../../../bench/support/server.ts';
import { PASSWORD, unique } from '../../support/app.ts';
import { imageForm, noisePng } from '../../support/images.ts';

export interface Api {
  server: RunningServer;
  url: string;
  auth: { authorization: string };
  unitId: string;
  sensorKey: string;
  request(path: string, init?: RequestInit): Promise<Response>;
  classify(seed: number): Promise<Response>;
  postReadings(readings: unknown[]): Promise<Response>;
}

/** The environment of a fault test's server: its own data folder, prefix and admin. */
export function serverEnv(dataDir: string, extra: Record<string, string> = {}) {
  const admin = unique('fault');
  return {
    admin,
    env: {
      NODE_ENV: 'test',
      AQUAML_DATA_DIR: dataDir,
      MQTT_PORT: '0',
      AQUAML_REDIS_PREFIX: unique('fault'),
      AQUAML_RATE_LIMIT_MAX: '100000',
      AQUAML_PREDICTION_CACHE: 'false',
      AQUAML_ADMIN_USERNAME: admin,
      AQUAML_ADMIN_EMAIL: `${admin}@example.org`,
      AQUAML_ADMIN_PASSWORD: PASSWORD,
      LOG_LEVEL: 'error',
      ...extra,
    },
  };
}

async function json<T>(res: Response, status: number): Promise<T> {
  const body = await res.text();
  assert.equal(res.status, status, body);
  return JSON.parse(body) as T;
}

/** Signs in; with `fixtures`, also makes a farm, a unit and a sensor. */
export async function connect(
  server: RunningServer,
  admin: string,
  fixtures: { unitId: string; sensorKey: string } | 'create',
): Promise<Api> {
  const url = server.url;
  const login = await json<{ access_token: string }>(
    await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: admin, password: PASSWORD }),
    }),
    200,
  );
  const auth = { authorization: `Bearer ${login.access_token}` };
  const request = (path: string, init: RequestInit = {}) =>
    fetch(url + path, {
      ...init,
      headers: {
        ...auth,
        ...(init.body && typeof init.body === 'string'
          ? { 'content-type': 'application/json' }
          : {}),
        ...(init.headers as Record<string, string> | undefined),
      },
    });
  let ids = fixtures === 'create' ? undefined : fixtures;
  if (!ids) {
    const farm = await json<{ id: string }>(
      await request('/api/v1/farms', {
        method: 'POST',
        body: JSON.stringify({ name: unique('farm') }),
      }),
      201,
    );
    const unit = await json<{ id: string }>(
      await request(`/api/v1/farms/${farm.id}/units`, {
        method: 'POST',
        body: JSON.stringify({ name: 'tank-1', kind: 'tank', species: 'nile-tilapia' }),
      }),
      201,
    );
    const sensor = await json<{ api_key: string }>(
      await request(`/api/v1/units/${unit.id}/devices`, {
        method: 'POST',
        body: JSON.stringify({ name: 'probe', kind: 'sensor' }),
      }),
      201,
    );
    ids = { unitId: unit.id, sensorKey: sensor.api_key };
  }
  const { unitId, sensorKey } = ids;
  return {
    server,
    url,
    auth,
    unitId,
    sensorKey,
    request,
    async classify(seed) {
      const form = imageForm(await noisePng(64, 48, seed));
      return fetch(`${url}/api/v1/predictions/classify`, {
        method: 'POST',
        headers: { ...auth, ...form.headers },
        body: form.payload,
      });
    },
    postReadings(readings) {
      return fetch(`${url}/api/v1/telemetry`, {
        method: 'POST',
        headers: { 'x-api-key': sensorKey, 'content-type': 'application/json' },
        body: JSON.stringify({ readings }),
      });
    },
  };
}

export { startServer };
