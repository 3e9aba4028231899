// Large uploads (issue 8): one 19 MiB image at a time to /ml/predict/async, while a separate
// process polls /health every 5 ms. Reports the /health round trips (idle, then during the
// uploads), the time to accept each upload (202) and to finish its task, and the server's CPU
// per upload. Also 19 MiB that is no image (refused, 415). The uploads are streamed from a file
// over one connection, as curl would send them.
// Run: npm run bench -- uploads [--count 10]
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { uncompressedNoisePng } from '../test/support/images.ts';
import { percentile } from './support/fetch-load.ts';
import { startHealthProbe } from './support/health-probe.ts';
import { startServer } from './support/server.ts';

const { values: args } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== 'uploads'),
  options: { count: { type: 'string', default: '10' } },
  strict: true,
});
const count = Number(args.count);
if (!(Number.isInteger(count) && count > 0 && count <= 1000)) {
  console.error('--count must be a whole number from 1 to 1000');
  process.exit(2);
}

const PASSWORD = 'Tilapia-Pond-4821';
const dir = mkdtempSync(join(tmpdir(), 'aquaml-uploads-'));
const image = join(dir, 'big.png');
const garbage = join(dir, 'big.jpg');
// 2560 x 2560 RGB noise stored uncompressed: an 18.8 MiB PNG the model really decodes.
writeFileSync(image, await uncompressedNoisePng(2560));
writeFileSync(garbage, randomBytes(19 * 1024 * 1024));

const server = await startServer(
  {
    AQUAML_DATA_DIR: join(dir, 'data'),
    AQUAML_RATE_LIMIT_MAX: '1000000',
    AQUAML_ADMIN_USERNAME: 'uploadadmin',
    AQUAML_ADMIN_EMAIL: 'uploads@example.org',
    AQUAML_ADMIN_PASSWORD: PASSWORD,
    LOG_LEVEL: 'error',
    // Any free port: the machine may run its own broker on 1883.
    MQTT_PORT: '0',
  },
  { waitFor: '/ready' },
);

function upload(path: string, file: string, token: string) {
  const boundary = `----aquaml${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="upload"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': head.length + statSync(file).size + tail.length,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.write(head);
    const stream = createReadStream(file);
    stream.on('error', reject);
    stream.on('end', () => req.end(tail));
    stream.pipe(req, { end: false });
  });
}

const fmt = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${percentile(s, 50).toFixed(1)} ms, p99 ${percentile(s, 99).toFixed(1)} ms, max ${s.at(-1)!.toFixed(1)} ms, over 50 ms: ${s.filter((x) => x > 50).length} of ${s.length}`;
};

try {
  const login = (await (
    await fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'uploadadmin', password: PASSWORD }),
    })
  ).json()) as { access_token: string };
  const token = login.access_token;

  let probe = await startHealthProbe(server.url);
  await new Promise((r) => setTimeout(r, 3000));
  const idle = await probe.stop();
  console.log(`/health, idle server (3 s): ${fmt(idle)}`);

  for (const [label, file, expected] of [
    [`${(statSync(image).size / 2 ** 20).toFixed(1)} MiB PNG`, image, 202],
    ['19.0 MiB of random bytes named .jpg', garbage, 415],
  ] as const) {
    probe = await startHealthProbe(server.url);
    const accept: number[] = [];
    const done: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < count; i++) {
      const before = server.cpuMs();
      const started = performance.now();
      const res = await upload('/api/v1/ml/predict/async', file, token);
      accept.push(performance.now() - started);
      if (res.status !== expected)
        throw new Error(`${label}: ${res.status} ${JSON.stringify(res.body)}`);
      if (res.status === 202) {
        for (;;) {
          const task = (await (
            await fetch(`${server.url}/api/v1/tasks/${String(res.body.task_id)}`, {
              headers: { authorization: `Bearer ${token}` },
            })
          ).json()) as { state: string; error?: string };
          if (task.state === 'failed') throw new Error(`task failed: ${task.error}`);
          if (task.state === 'succeeded') break;
          await new Promise((r) => setTimeout(r, 20));
        }
        done.push(performance.now() - started);
      }
      const after = server.cpuMs();
      cpu.push(after.main - before.main);
      await new Promise((r) => setTimeout(r, 300));
    }
    const during = await probe.stop();
    console.log(`\n${count} x ${label} to /ml/predict/async (expect ${expected}):`);
    console.log(`  /health during: ${fmt(during)}${during.includes(-1) ? ' (some not 200!)' : ''}`);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`  answered (${expected}) after: mean ${mean(accept).toFixed(0)} ms`);
    if (done.length) console.log(`  task finished after: mean ${mean(done).toFixed(0)} ms`);
    console.log(`  server main-thread CPU per upload: mean ${mean(cpu).toFixed(0)} ms`);
  }
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
