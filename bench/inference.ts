// Serving benchmark (issue 4): POST /api/v1/predictions/classify with real fish images at
// concurrency 1, 8 and 32 (p50/p95/p99, throughput, errors), against the physical ceiling: the
// served model's own backbone graph run straight through onnxruntime, batched, no HTTP, no decode.
// Run: npm run bench -- inference   (BENCH_SECONDS per run, default 15; the prediction cache is off)
import { randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type autocannon from 'autocannon';
import * as ort from 'onnxruntime-node';
import { ensureBackbone } from '../src/ml/backbone/build.ts';
import { decodeRgb, toFloat } from '../src/ml/preprocess.ts';
import type { Manifest } from '../src/ml/artifact/manifest.ts';
import { load, printTable } from './support/load.ts';
import { ROOT, startServer } from './support/server.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 15);
const datasets = process.env.AQUAML_DATASETS_DIR ?? join(ROOT, '..', 'shared', 'data');
const valDir = join(datasets, 'fish-species', 'val');
if (!existsSync(valDir)) {
  console.log(`skipped: no fish images at ${valDir} (set AQUAML_DATASETS_DIR)`);
  process.exit(0);
}
const images = readdirSync(valDir).flatMap((c) =>
  readdirSync(join(valDir, c)).map((f) => ({ name: f, data: readFileSync(join(valDir, c, f)) })),
);
const manifest = JSON.parse(
  readFileSync(join(ROOT, 'models', 'species', '1', 'manifest.json'), 'utf8'),
) as Manifest;
console.log(
  `model species@1: backbone ${manifest.backbone.id}, taps ${manifest.backbone.taps.join('+')}, flip_tta ${manifest.options.flip_tta}; ${images.length} val images; server ORT intra-op threads ${process.env.AQUAML_SERVING_THREADS ?? '1 (default)'}`,
);

const dataDir = mkdtempSync(join(tmpdir(), 'aquaml-bench-inf-'));
try {
  // 1. The ceiling: the same graph and outputs, batched, inputs already decoded.
  // The graph the server runs: built with only the model's taps as outputs.
  const onnx = await ensureBackbone(
    join(dataDir, 'models'),
    manifest.backbone.id,
    manifest.backbone.taps,
  );
  const size = manifest.preprocessing.size;
  const px = size * size * 3;
  const decoded = await Promise.all(
    images.slice(0, 64).map((i) => decodeRgb(i.data, manifest.preprocessing)),
  );
  const passes = manifest.options.flip_tta ? 2 : 1;
  // The ceiling is the best the machine does with this graph: 1 and 2 intra-op threads, each batch.
  const ceiling: Record<number, number> = {};
  for (const threads of [1, 2]) {
    const session = await ort.InferenceSession.create(onnx, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const rates: string[] = [];
    for (const batch of [1, 8, 32]) {
      const input = new Float32Array(batch * passes * px);
      for (let i = 0; i < batch * passes; i++) toFloat(decoded[i % decoded.length]!, input, i * px);
      const feeds = { input: new ort.Tensor('float32', input, [batch * passes, size, size, 3]) };
      for (let i = 0; i < 3; i++) await session.run(feeds, manifest.backbone.taps);
      let n = 0;
      const start = performance.now();
      while (performance.now() - start < Math.min(seconds, 8) * 1000) {
        await session.run(feeds, manifest.backbone.taps);
        n += batch;
      }
      const rate = n / ((performance.now() - start) / 1000);
      ceiling[batch] = Math.max(ceiling[batch] ?? 0, rate);
      rates.push(`batch ${batch} ${rate.toFixed(0)}`);
    }
    await session.release();
    console.log(
      `onnxruntime (no HTTP, no decode), ${threads} intra-op thread(s), images/s: ${rates.join(', ')}`,
    );
  }
  console.log(
    `ceiling (best of the above), images/s: batch 1 ${ceiling[1]!.toFixed(0)}, batch 8 ${ceiling[8]!.toFixed(0)}, batch 32 ${ceiling[32]!.toFixed(0)}`,
  );

  // 2. Through HTTP: a fresh server with the shipped model, cache off, rate limits out of the way.
  // A copy of it with flip-TTA on (a per-model option) is registered beside it, to price that lever.
  const shipped = join(dataDir, 'shipped');
  cpSync(join(ROOT, 'models', 'species', '1'), join(shipped, 'species', '1'), { recursive: true });
  cpSync(join(ROOT, 'models', 'species', '1'), join(shipped, 'species-flip', '1'), {
    recursive: true,
  });
  writeFileSync(
    join(shipped, 'species-flip', '1', 'manifest.json'),
    JSON.stringify({
      ...manifest,
      name: 'species-flip',
      options: { ...manifest.options, flip_tta: true },
    }),
  );
  const password = `Tilapia-Pond-${randomBytes(6).toString('hex')}`;
  const server = await startServer(
    {
      AQUAML_DATA_DIR: dataDir,
      AQUAML_SHIPPED_MODELS: shipped,
      AQUAML_PREDICTION_CACHE: 'false',
      RATE_LIMIT_MAX: '10000000',
      AQUAML_ADMIN_USERNAME: 'benchadmin',
      AQUAML_ADMIN_EMAIL: 'ops@example.org',
      AQUAML_ADMIN_PASSWORD: password,
    },
    { waitFor: '/ready' },
  );
  const login = await fetch(`${server.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'benchadmin', password }),
  });
  const { access_token } = (await login.json()) as { access_token: string };
  const boundary = '----aquamlbench';
  const bodies = images.map((img) =>
    Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${img.name}"\r\nContent-Type: image/png\r\n\r\n`,
      ),
      img.data,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]),
  );
  let next = 0;
  const rows = [];
  const cpuRows: string[] = [];
  const runs: [string, number][] = [
    ['species', 1],
    ['species', 8],
    ['species', 32],
    ['species-flip', 1],
    ['species-flip', 32],
  ];
  for (const [model, connections] of runs) {
    // Warm-up at this concurrency, then the measured run.
    const opts: autocannon.Options & { url: string } = {
      url: `${server.url}/api/v1/predictions/classify?health=false&model=${model}@1`,
      method: 'POST',
      connections,
      headers: {
        authorization: `Bearer ${access_token}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
      requests: [
        {
          setupRequest: (req: autocannon.Request) => ({
            ...req,
            body: bodies[next++ % bodies.length],
          }),
        },
      ],
    };
    await load('warm-up', { ...opts, duration: 2 });
    const cpuBefore = server.cpuMs();
    const selfBefore = process.cpuUsage();
    const label = model === 'species' ? 'POST /predictions/classify' : '  same, flip-TTA on';
    const row = await load(label, { ...opts, duration: seconds });
    rows.push(row);
    const cpu = server.cpuMs();
    const self = process.cpuUsage(selfBefore);
    const per = (ms: number) => (ms / row.requests).toFixed(2);
    const sum = (c: typeof cpu) => c.main + c.libvips + c.other;
    cpuRows.push(
      `${model} c=${connections}: server ${per(sum(cpu) - sum(cpuBefore))} ms (main thread ${per(cpu.main - cpuBefore.main)}, libvips workers ${per(cpu.libvips - cpuBefore.libvips)}, inference + libuv pool + V8 helpers ${per(cpu.other - cpuBefore.other)}), load generator ${per((self.user + self.system) / 1000)} ms`,
    );
  }
  printTable(rows);
  console.log(
    `CPU time per request (2 cores = 2000 ms of CPU per second):\n  ${cpuRows.join('\n  ')}`,
  );
  const c32 = rows[2]!;
  const flip1 = rows[3]!;
  const flip32 = rows[4]!;
  console.log(
    `flip-TTA lever: p50 at concurrency 1 ${flip1.p50} ms vs ${rows[0]!.p50} ms; throughput at 32 ${flip32.rps.toFixed(0)} vs ${c32.rps.toFixed(0)} req/s (${((flip32.rps / (ceiling[32]! / 2)) * 100).toFixed(1)} % of its own ceiling, half the above)`,
  );
  console.log(
    `throughput at concurrency 32 = ${((c32.rps / ceiling[32]!) * 100).toFixed(1)} % of the batch-32 ceiling (${c32.rps.toFixed(0)} / ${ceiling[32]!.toFixed(0)} img/s)`,
  );
  const stats = (await (
    await fetch(`${server.url}/api/v1/models/stats`, {
      headers: { authorization: `Bearer ${access_token}` },
    })
  ).json()) as {
    items: { name: string; version: number; mean_batch_size: number | null; queue_ms: unknown }[];
  };
  const s = stats.items.find((i) => i.name === 'species' && i.version === 1);
  console.log(
    `server view: mean batch size ${s?.mean_batch_size?.toFixed(2)}, queue wait ${JSON.stringify(s?.queue_ms)}`,
  );
  console.log(
    `server RSS after load: ${server.rssMb().toFixed(0)} MiB (load generator and server share the 2 cores)`,
  );
  await server.stop();
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
