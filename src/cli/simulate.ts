import type { Command } from 'commander';
import { connectAsync, type MqttClient } from 'mqtt';
import { loadConfig } from '../config.ts';
import { profileFor } from '../modules/telemetry/simulator/model.ts';
import {
  runSimulation,
  type SimulatedUnit,
  type SimulationSink,
} from '../modules/telemetry/simulator/runner.ts';
import { CliError } from './errors.ts';

interface SimulateOptions {
  farm: string;
  units: string;
  rate: string;
  faults?: boolean;
  duration: string;
  via: string;
  url?: string;
  mqttUrl?: string;
  token?: string;
  username?: string;
  password?: string;
  seed: string;
}

/** "10/s", "10", "600/min" -> readings per second. */
export function parseRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(?:\/(s|sec|m|min))?$/.exec(text.trim());
  if (!m) throw new CliError(`--rate must look like 10/s or 600/min, got "${text}"`);
  const n = Number(m[1]) / (m[2]?.startsWith('m') ? 60 : 1);
  if (n <= 0 || n > 100_000) throw new CliError('--rate must be above 0 and at most 100000/s');
  return n;
}

/** "60s", "5m", "1h" or seconds -> ms. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new CliError(`--duration must look like 60s, 5m or 1h, got "${text}"`);
  const ms = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 's'];
  if (ms <= 0 || ms > 24 * 3_600_000)
    throw new CliError('--duration must be above 0 and at most 24h');
  return ms;
}

class Api {
  constructor(
    private readonly base: string,
    private token: string | undefined,
  ) {}

  async login(username: string, password: string): Promise<void> {
    const res = await this.call('POST', '/api/v1/auth/login', { username, password }, false);
    this.token = (res as { access_token: string }).access_token;
  }

  async call(method: string, path: string, body?: unknown, auth = true): Promise<unknown> {
    const res = await fetch(this.base + path, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(auth && this.token ? { authorization: `Bearer ${this.token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new CliError(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : undefined;
  }
}

type UnitJson = { id: string; name: string; species: string | null };
type DeviceJson = { id: string; name: string; api_key?: string };

/** The farm's first N units (created when missing), each with a "simulator" sensor and a fresh key. */
async function prepareUnits(api: Api, farmId: string, count: number) {
  await api.call('GET', `/api/v1/farms/${farmId}`);
  const listed = (await api.call('GET', `/api/v1/farms/${farmId}/units`)) as {
    items: UnitJson[];
  };
  const found = [...listed.items];
  for (let i = found.length; i < count; i++) {
    const created = (await api.call('POST', `/api/v1/farms/${farmId}/units`, {
      name: `sim-tank-${i + 1}`,
      kind: 'tank',
      species: found[0]?.species ?? 'nile-tilapia',
    })) as { id: string };
    found.push((await api.call('GET', `/api/v1/units/${created.id}`)) as UnitJson);
  }
  const species = new Map<string, Parameters<typeof profileFor>[0]>();
  const out: (SimulatedUnit & { key: string })[] = [];
  for (const unit of found.slice(0, count)) {
    const devices = (await api.call('GET', `/api/v1/units/${unit.id}/devices`)) as {
      items: DeviceJson[];
    };
    const existing = devices.items.find((d) => d.name === 'simulator');
    const device = (
      existing
        ? await api.call('POST', `/api/v1/devices/${existing.id}/rotate-key`)
        : await api.call('POST', `/api/v1/units/${unit.id}/devices`, {
            name: 'simulator',
            kind: 'sensor',
          })
    ) as DeviceJson;
    if (unit.species && !species.has(unit.species)) {
      const s = (await api
        .call('GET', `/api/v1/species/${unit.species}`)
        .catch(() => undefined)) as
        Record<string, { min: number | null; max: number | null } | undefined> | undefined;
      species.set(unit.species, {
        temperatureMinC: s?.temperature?.min ?? null,
        temperatureMaxC: s?.temperature?.max ?? null,
        salinityMinPpt: s?.salinity?.min ?? null,
        salinityMaxPpt: s?.salinity?.max ?? null,
        phMin: s?.ph?.min ?? null,
        phMax: s?.ph?.max ?? null,
      });
    }
    out.push({
      farmId,
      unitId: unit.id,
      deviceId: device.id,
      key: device.api_key!,
      profile: profileFor(unit.species ? species.get(unit.species) : undefined),
    });
  }
  return out;
}

function httpSink(base: string, keys: Map<string, string>): SimulationSink {
  return {
    async send(unit, readings) {
      const res = await fetch(`${base}/api/v1/telemetry`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': keys.get(unit.unitId)! },
        body: JSON.stringify({ readings }),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${res.status} ${text.slice(0, 200)}`);
    },
  };
}

async function mqttSink(
  url: string,
  units: (SimulatedUnit & { key: string })[],
): Promise<SimulationSink & { close(): Promise<void> }> {
  const clients = new Map<string, MqttClient>();
  for (const u of units) {
    clients.set(
      u.unitId,
      await connectAsync(url, { username: u.deviceId, password: u.key, reconnectPeriod: 1000 }),
    );
  }
  return {
    async send(unit, readings) {
      const client = clients.get(unit.unitId)!;
      const base = `aquaml/${unit.farmId}/${unit.unitId}/${unit.deviceId}`;
      await Promise.all(
        readings.map((r) =>
          client.publishAsync(`${base}/${r.metric}`, JSON.stringify({ value: r.value, ts: r.ts }), {
            qos: 1,
          }),
        ),
      );
    },
    async close() {
      await Promise.all([...clients.values()].map((c) => c.endAsync()));
    },
  };
}

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description(
      'Publish realistic water-quality readings to a running AquaML (daily temperature and oxygen cycles, feeding dips, sensor drift and dropouts; an oxygen crash with --faults)',
    )
    .requiredOption('--farm <id>', 'the farm to feed (its first N units; missing ones are created)')
    .option('--units <n>', 'units to feed', '20')
    .option('--rate <r>', 'readings per second per unit, e.g. 10/s', '1/s')
    .option('--faults', 'crash the oxygen of every tenth unit (the first included)')
    .option('--duration <d>', 'how long to run, e.g. 60s, 5m (at most 24h)', '60s')
    .option('--via <door>', 'http or mqtt', 'http')
    .option('--url <url>', 'the API (default http://127.0.0.1:<PORT>)')
    .option(
      '--mqtt-url <url>',
      'the MQTT broker (default MQTT_URL or mqtt://127.0.0.1:<MQTT_PORT>)',
    )
    .option('--token <jwt>', 'an access token (or AQUAML_TOKEN)')
    .option('--username <name>', 'sign in instead (or AQUAML_USERNAME, AQUAML_PASSWORD)')
    .option('--password <password>', 'with --username')
    .option('--seed <n>', 'random seed', '1')
    .action(async (opts: SimulateOptions) => {
      const config = loadConfig();
      const base = (opts.url ?? `http://127.0.0.1:${config.port}`).replace(/\/+$/, '');
      const count = Number(opts.units);
      if (!Number.isInteger(count) || count < 1 || count > 10_000)
        throw new CliError('--units must be a whole number from 1 to 10000');
      if (opts.via !== 'http' && opts.via !== 'mqtt')
        throw new CliError('--via must be http or mqtt');
      const rate = parseRate(opts.rate);
      const durationMs = parseDuration(opts.duration);
      const api = new Api(base, opts.token ?? process.env.AQUAML_TOKEN);
      const username = opts.username ?? process.env.AQUAML_USERNAME;
      const password = opts.password ?? process.env.AQUAML_PASSWORD;
      if (!opts.token && !process.env.AQUAML_TOKEN) {
        if (!username || !password)
          throw new CliError('sign in with --token, or --username and --password');
        await api.login(username, password);
      }
      const units = await prepareUnits(api, opts.farm, count);
      const keys = new Map(units.map((u) => [u.unitId, u.key]));
      const mqttUrl = opts.mqttUrl ?? config.mqttUrl ?? `mqtt://127.0.0.1:${config.mqttPort}`;
      const sink = opts.via === 'mqtt' ? await mqttSink(mqttUrl, units) : httpSink(base, keys);
      const abort = new AbortController();
      process.once('SIGINT', () => abort.abort());
      console.log(
        `simulating ${units.length} units at ${rate}/s each for ${durationMs / 1000} s via ${opts.via}${opts.faults ? ' with faults' : ''}`,
      );
      let lastError = '';
      const stats = await runSimulation({
        units,
        ratePerUnit: rate,
        durationMs,
        faults: Boolean(opts.faults),
        seed: Number(opts.seed) || 1,
        sink,
        signal: abort.signal,
        onError: (err) => (lastError = err instanceof Error ? err.message : String(err)),
      });
      if ('close' in sink) await (sink as { close(): Promise<void> }).close();
      console.log(
        JSON.stringify({
          sent: stats.sent,
          failed: stats.failed,
          skipped_while_busy: stats.dropped,
          seconds: Math.round(stats.elapsedMs / 100) / 10,
          per_second: Math.round(stats.sent / (stats.elapsedMs / 1000)),
          oxygen_crash_units: stats.crashedUnits,
          ...(lastError ? { last_error: lastError } : {}),
        }),
      );
      if (stats.sent === 0) throw new CliError('nothing was accepted');
    });
}
