import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isolatedDatabase, PASSWORD, startTestApp, unique } from '../support/app.ts';

test('restarting keeps users and data, and AQUAML_ADMIN_* creates the first admin once', async () => {
  const isolated = await isolatedDatabase();
  const dataDir = isolated.dataDir;
  const admin = unique('boot');
  const overrides = {
    ...isolated.overrides,
    AQUAML_ADMIN_USERNAME: admin,
    AQUAML_ADMIN_EMAIL: `${admin}@example.org`,
    AQUAML_ADMIN_PASSWORD: PASSWORD,
  };
  try {
    const first = await startTestApp({ dataDir, overrides });
    const username = unique('keep');
    const reg = await first.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { username, email: `${username}@example.org`, password: PASSWORD },
    });
    assert.equal(reg.statusCode, 201);
    await first.close();

    const second = await startTestApp({ dataDir, overrides });
    try {
      const login = await second.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username, password: PASSWORD },
      });
      assert.equal(login.statusCode, 200);
      const adminLogin = await second.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: admin, password: PASSWORD },
      });
      assert.equal(adminLogin.statusCode, 200);
      const me = await second.app.inject({
        url: '/api/v1/auth/me',
        headers: { authorization: `Bearer ${adminLogin.json().access_token}` },
      });
      assert.equal(me.json().role, 'admin');
      const species = await second.app.inject({
        url: '/api/v1/species/nile-tilapia',
        headers: { authorization: `Bearer ${adminLogin.json().access_token}` },
      });
      assert.equal(species.statusCode, 200);
      assert.equal(species.json().scientific_name, 'Oreochromis niloticus');
      assert.ok(species.json().water_quality.temperature_c.source.length > 10);
    } finally {
      await second.close();
    }
  } finally {
    await isolated.drop();
  }
});
