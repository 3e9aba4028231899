// Serving benchmark (issue 13): AquaML side by side with what a user would run instead, in one
// invocation, on the same images and the same backbone graph:
//   - AquaML `serve` (auth, durable prediction record, image archive, open-set check), cache off;
//   - the original platform's stack: FastAPI + uvicorn (2 workers, uvloop, httptools), Pillow
//     LANCZOS, onnxruntime 1 thread per worker, the model's linear head; no auth, no database;
//   - Ray Serve, one replica, `@serve.batch(max_batch_size=32, batch_wait_timeout_s=0.004)`;
//   - the no-HTTP pipeline: sharp decode overlapped with batched onnxruntime (the physical limit).
// Every server gets the same load generator (Node fetch, closed loops: c=1 for latency, c=32 for
// throughput and p99); two rounds alternate the servers, and the table gives the median (= mean of
// two) with both rounds' values. The peers' Python environment is built offline under tmp/; when
// it cannot be built the bench says so and goes on without them.
// Run: npm run bench -- inference   (BENCH_SECONDS per measured run, default 10; BENCH_PEERS=0 skips
// the peers; BENCH_ROUNDS, default 2; BENCH_MODEL=<model version dir>, default models/species/1,
// e.g. an int8 model from `scripts/train-species.ts <dir> --precision int8`)
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ensureBackbone } from '../src/ml/backbone/build.ts';
import { decodeRgb, toFloat } from '../src/ml/preprocess.ts';
import { backboneInt8, type Manifest } from '../src/ml/artifact/manifest.ts';
import { fetchLoad, type FetchLoadResult } from './support/fetch-load.ts';
import { imageUploads } from './support/multipart.ts';
import { type PeerServer, peerEnv, startFastApi, startRayServe } from './support/peers.ts';
import { ROOT, startServer } from './support/server.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));
const withPeers = process.env.BENCH_PEERS !== '0';
const IMAGES = 200;
const datasets = process.env.AQUAML_DATASETS_DIR ?? join(ROOT, '..', 'shared', 'data');
const valDir = join(datasets, 'fish-species', 'val');
if (!existsSync(valDir)) {
  console.log(`skipped: no fish images at ${valDir} (set AQUAML_DATASETS_DIR)`);
  process.exit(0);
}
// 200 val images spread evenly over the sorted list (every class), the same for every server.
const all = readdirSync(valDir)
  .sort()
  .flatMap((c) =>
    readdirSync(join(valDir, c))
      .sort()
      .map((f) => ({ label: c, name: f, path: join(valDir, c, f) })),
  );
const images = Array.from({ length: Math.min(IMAGES, all.length) }, (_, i) => {
  const it = all[Math.floor((i * all.length) / Math.min(IMAGES, all.length))]!;
  return { ...it, data: readFileSync(it.path) };
});
const modelDir = resolve(process.env.BENCH_MODEL ?? join(ROOT, 'models', 'species', '1'));
const manifest = JSON.parse(readFileSync(join(modelDir, 'manifest.json'), 'utf8')) as Manifest;
const size = manifest.preprocessing.size;
const px = size * size * 3;
const taps = manifest.backbone.taps;
const ortVersion = (
  createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }
).version;
const int8 = backboneInt8(manifest.backbone);
console.log(
  `model ${modelDir}: backbone ${manifest.backbone.id} ${int8 ? 'int8' : 'fp32'}, taps ${taps.join('+')}; ${images.length} of ${all.length} val images (${(images.reduce((s, i) => s + i.data.length, 0) / images.length / 1024).toFixed(0)} KiB mean); AquaML ORT intra-op threads ${process.env.AQUAML_SERVING_THREADS ?? '1 (default)'}; onnxruntime ${ortVersion}; ${seconds} s per run, ${rounds} rounds`,
);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const f0 = (v: number) => v.toFixed(0);
const f1 = (v: number) => v.toFixed(1);

const dataDir = mkdtempSync(join(tmpdir(), 'aquaml-bench-inf-'));
const stops: (() => Promise<unknown>)[] = [];
try {
  // The graph every server runs: the model's taps as the only outputs (what AquaML serves).
  const onnx = await ensureBackbone(join(dataDir, 'models'), manifest.backbone.id, taps, int8);
  // An int8 model: its float twin is measured beside it (same taps), to price the quantisation.
  const graphs: [string, string][] = [[int8 ? 'int8' : 'fp32', onnx]];
  if (int8)
    graphs.push([
      'fp32',
      await ensureBackbone(join(dataDir, 'models'), manifest.backbone.id, taps),
    ]);

  // 1. Without HTTP: inference alone, decode alone, and both overlapped (the pipeline ceiling).
  const decoded = await Promise.all(
    images.slice(0, 64).map((i) => decodeRgb(i.data, manifest.preprocessing)),
  );
  const measureFor = Math.min(seconds, 6) * 1000;
  const pipeline: { rate: number; threads: number; batch: number }[] = [];
  for (const [precision, path] of graphs)
    for (const threads of [1, 2]) {
      const session = await ort.InferenceSession.create(path, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        enableMemPattern: false,
        // As the server's sessions (src/ml/backbone/session.ts): no spinning between runs.
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
      const rates: string[] = [];
      for (const batch of [1, 8, 32]) {
        const input = new Float32Array(batch * px);
        for (let i = 0; i < batch; i++) toFloat(decoded[i % decoded.length]!, input, i * px);
        const feeds = { input: new ort.Tensor('float32', input, [batch, size, size, 3]) };
        for (let i = 0; i < 3; i++) await session.run(feeds, taps);
        let n = 0;
        const start = performance.now();
        while (performance.now() - start < measureFor) {
          await session.run(feeds, taps);
          n += batch;
        }
        rates.push(`batch ${batch} ${f0(n / ((performance.now() - start) / 1000))}`);
      }
      console.log(
        `onnxruntime alone (decoded inputs), ${precision} graph, ${threads} intra-op thread(s), img/s: ${rates.join(', ')}`,
      );
      if (path !== onnx) {
        await session.release();
        continue;
      }
      // The pipeline: sharp decodes on libuv's pool, two batches ahead, while onnxruntime runs.
      for (const batch of [8, 32]) {
        let next = 0;
        const ahead: Promise<Buffer>[] = [];
        const fill = () => {
          while (ahead.length < 2 * batch)
            ahead.push(decodeRgb(images[next++ % images.length]!.data, manifest.preprocessing));
        };
        const input = new Float32Array(batch * px);
        const step = async () => {
          const ready = await Promise.all(ahead.splice(0, batch));
          fill();
          ready.forEach((rgb, k) => toFloat(rgb, input, k * px));
          await session.run(
            { input: new ort.Tensor('float32', input, [batch, size, size, 3]) },
            taps,
          );
        };
        fill();
        await step();
        let n = 0;
        const start = performance.now();
        while (performance.now() - start < measureFor) {
          await step();
          n += batch;
        }
        pipeline.push({ rate: n / ((performance.now() - start) / 1000), threads, batch });
        await Promise.all(ahead.splice(0));
      }
      await session.release();
    }
  {
    let n = 0;
    const start = performance.now();
    const loop = async () => {
      while (performance.now() - start < measureFor)
        await decodeRgb(images[n++ % images.length]!.data, manifest.preprocessing);
    };
    await Promise.all(Array.from({ length: 8 }, loop));
    console.log(
      `decode alone (sharp ${manifest.preprocessing.kernel} to ${size}x${size}, 8 in flight): ${f0(n / ((performance.now() - start) / 1000))} img/s`,
    );
  }
  const ceiling = pipeline.reduce((a, b) => (b.rate > a.rate ? b : a));
  console.log(
    `no-HTTP pipeline (decode overlapped with batched inference), img/s: ${pipeline.map((p) => `${p.threads} thread(s) batch ${p.batch} ${f0(p.rate)}`).join(', ')}`,
  );

  // 2. The servers.
  interface Target {
    label: string;
    url: string;
    headers: Record<string, string>;
    cpuMs(): number;
    /** CPU by thread, for AquaML: where a request's CPU goes. */
    threads?: () => Map<number, { name: string; ms: number }>;
    pid?: number;
  }
  const targets: Target[] = [];
  const { bodies, contentType } = imageUploads(images);
  const multipart = { 'content-type': contentType };

  const shipped = join(dataDir, 'shipped');
  cpSync(modelDir, join(shipped, 'species', '1'), { recursive: true });
  const password = `Tilapia-Pond-${randomBytes(6).toString('hex')}`;
  const aquaml = await startServer(
    {
      AQUAML_DATA_DIR: dataDir,
      AQUAML_SHIPPED_MODELS: shipped,
      AQUAML_PREDICTION_CACHE: 'false',
      AQUAML_RATE_LIMIT_MAX: '10000000',
      AQUAML_ADMIN_USERNAME: 'benchadmin',
      AQUAML_ADMIN_EMAIL: 'ops@example.org',
      AQUAML_ADMIN_PASSWORD: password,
    },
    { waitFor: '/ready' },
  );
  stops.push(() => aquaml.stop());
  const login = await fetch(`${aquaml.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'benchadmin', password }),
  });
  const { access_token } = (await login.json()) as { access_token: string };
  const cpuSum = () => {
    const c = aquaml.cpuMs();
    return c.main + c.libvips + c.other;
  };
  targets.push({
    label: `AquaML (auth, DB record, image archive, open-set check; ${int8 ? 'int8' : 'fp32'} backbone)`,
    url: `${aquaml.url}/api/v1/predictions/classify?health=false&model=species@1`,
    headers: { ...multipart, authorization: `Bearer ${access_token}` },
    cpuMs: cpuSum,
    threads: () => aquaml.threadCpuMs(),
    pid: aquaml.process.pid,
  });

  const env = withPeers ? peerEnv(ortVersion) : { missing: 'BENCH_PEERS=0' };
  if ('missing' in env) {
    console.log(`peers skipped: ${env.missing}`);
  } else {
    const peers: [string, () => Promise<PeerServer>][] = [
      [
        'FastAPI + uvicorn (2 workers, uvloop) + Pillow LANCZOS + onnxruntime 1 thread, linear head, no auth/DB',
        () => startFastApi(env.python, modelDir, onnx, 2, 1),
      ],
    ];
    if (env.rayMissing) console.log(`Ray Serve skipped: ${env.rayMissing}`);
    else
      peers.push([
        'Ray Serve, @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.004), 1 replica, onnxruntime 2 threads, same work',
        () =>
          startRayServe(
            env.python,
            modelDir,
            onnx,
            2,
            32,
            0.004,
            join(tmpdir(), `aq-ray-${process.pid}`),
          ),
      ]);
    for (const [label, start] of peers) {
      const began = performance.now();
      try {
        const peer = await start();
        stops.push(() => peer.stop());
        console.log(`${peer.label} ready in ${f1((performance.now() - began) / 1000)} s`);
        targets.push({ label, url: peer.url, headers: multipart, cpuMs: () => peer.cpuMs() });
      } catch (err) {
        console.log(`peer skipped: ${(err as Error).message}`);
      }
    }
  }

  // Same answers? Each server classifies the 200 images once; top-1 against the folder label and
  // against AquaML (Pillow's and libvips' LANCZOS differ slightly, so a few may disagree).
  const answers: string[][] = [];
  for (const t of targets) {
    const labels: string[] = new Array(images.length);
    let i = 0;
    const loop = async () => {
      for (let k = i++; k < images.length; k = i++) {
        const r = await fetch(t.url, { method: 'POST', headers: t.headers, body: bodies[k] });
        if (!r.ok)
          throw new Error(`${t.label}: HTTP ${r.status} ${(await r.text()).slice(0, 200)}`);
        labels[k] = ((await r.json()) as { label: string }).label;
      }
    };
    await Promise.all(Array.from({ length: 4 }, loop));
    answers.push(labels);
    const acc = labels.filter((l, k) => l === images[k]!.label).length / images.length;
    const agree = labels.filter((l, k) => l === answers[0]![k]).length / images.length;
    console.log(
      `${t.label.split(' ')[0]}: top-1 on these ${images.length} images ${f1(acc * 100)} %, same top-1 as AquaML ${f1(agree * 100)} %`,
    );
  }

  // The rounds: every server in turn, c=1 then c=32, after a short warm-up at c=32.
  const results = targets.map(() => ({
    c1: [] as FetchLoadResult[],
    c32: [] as FetchLoadResult[],
    cpu: [] as number[],
    threads: [] as string[],
  }));
  for (let round = 1; round <= rounds; round++) {
    for (const [ti, t] of targets.entries()) {
      const base = { url: t.url, headers: t.headers, bodies };
      await fetchLoad({ ...base, connections: 32, durationMs: 2000 });
      await sleep(300);
      results[ti]!.c1.push(
        await fetchLoad({ ...base, connections: 1, durationMs: seconds * 1000 }),
      );
      const cpu0 = t.cpuMs();
      const th0 = t.threads?.();
      const self0 = process.cpuUsage();
      const r32 = await fetchLoad({ ...base, connections: 32, durationMs: seconds * 1000 });
      results[ti]!.c32.push(r32);
      const per = (ms: number) => (ms / Math.max(1, r32.requests)).toFixed(2);
      const self = process.cpuUsage(self0);
      results[ti]!.cpu.push((t.cpuMs() - cpu0) / Math.max(1, r32.requests));
      if (th0) results[ti]!.threads.push(byThread(th0, t.threads!(), t.pid!, r32.requests));
      const c1 = results[ti]!.c1.at(-1)!;
      console.log(
        `round ${round} ${t.label.split(' ')[0]}: c=1 p50 ${c1.p50} ms (${c1.requests} req, ${c1.errors} errors); c=32 ${f0(r32.rps)} req/s p99 ${r32.p99} ms (${r32.requests} req, ${r32.errors} errors${r32.firstError ? `: ${r32.firstError}` : ''}); server CPU ${per(t.cpuMs() - cpu0)} ms/req, load generator ${per((self.user + self.system) / 1000)} ms/req`,
      );
      await sleep(300);
    }
  }

  /**
   * A request's CPU by thread. Node names no thread but libvips' own, so the inference thread is
   * told apart as the busiest of the rest: with one intra-op thread, onnxruntime runs on it, as do
   * the engine's conversions, head and open-set check.
   */
  function byThread(
    before: Map<number, { name: string; ms: number }>,
    after: Map<number, { name: string; ms: number }>,
    pid: number,
    requests: number,
  ): string {
    const d = [...after].map(([tid, t]) => ({
      tid,
      name: t.name,
      ms: t.ms - (before.get(tid)?.ms ?? 0),
    }));
    const sum = (xs: typeof d) => xs.reduce((s, x) => s + x.ms, 0) / Math.max(1, requests);
    const main = d.filter((x) => x.tid === pid);
    const vips = d.filter((x) => x.name.startsWith('libvips'));
    const rest = d
      .filter((x) => x.tid !== pid && !x.name.startsWith('libvips'))
      .sort((a, b) => b.ms - a.ms);
    return `main thread ${sum(main).toFixed(2)}, inference thread ${sum(rest.slice(0, 1)).toFixed(2)}, libvips workers ${sum(vips).toFixed(2)}, ${rest.length - 1} other threads (libuv pool, V8 helpers) ${sum(rest.slice(1)).toFixed(2)}; total ${sum(d).toFixed(2)}`;
  }

  // 3. The table: medians of the rounds (two rounds: their mean), with the rounds' spread.
  const median = (v: number[]) => {
    const s = [...v].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const cell = (v: number[], fmt: (x: number) => string) =>
    v.length > 1 ? `${fmt(median(v))} (${v.map(fmt).join(', ')})` : fmt(v[0]!);
  const rows = targets.map((t, i) => {
    const r = results[i]!;
    return {
      label: t.label,
      p50: median(r.c1.map((x) => x.p50)),
      rps: median(r.c32.map((x) => x.rps)),
      p99: median(r.c32.map((x) => x.p99)),
      errors: [...r.c1, ...r.c32].reduce((s, x) => s + x.errors, 0),
      cells: [
        cell(
          r.c1.map((x) => x.p50),
          f1,
        ),
        cell(
          r.c32.map((x) => x.rps),
          f0,
        ),
        cell(
          r.c32.map((x) => x.p99),
          f0,
        ),
        String([...r.c1, ...r.c32].reduce((s, x) => s + x.errors, 0)),
        cell(r.cpu, f1),
      ],
    };
  });
  console.log(
    `\nside by side (median of ${rounds} rounds, each round's value in parentheses; ${images.length} val images; one Node fetch load generator; ${seconds} s per run):\n`,
  );
  console.log(
    '| server | c=1 p50 ms | c=32 req/s | c=32 p99 ms | errors | server CPU ms/req at c=32 |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.label} | ${r.cells.join(' | ')} |`);
  console.log(
    `| no-HTTP pipeline: sharp decode overlapped with batched onnxruntime, ${int8 ? 'int8' : 'fp32'} graph (best: ${ceiling.threads} thread(s), batch ${ceiling.batch}) | | ${f0(ceiling.rate)} img/s | | | |`,
  );
  const me = rows[0]!;
  const peers = rows.slice(1);
  console.log('');
  if (peers.length) {
    const bestRps = peers.reduce((a, b) => (b.rps > a.rps ? b : a));
    const bestP50 = peers.reduce((a, b) => (b.p50 < a.p50 ? b : a));
    console.log(
      `AquaML c=32 throughput / best peer's (${bestRps.label.split(' ')[0]}): ${(me.rps / bestRps.rps).toFixed(2)}x (target >= 2)`,
    );
    console.log(
      `AquaML c=1 p50 / best peer's (${bestP50.label.split(' ')[0]}): ${(me.p50 / bestP50.p50).toFixed(2)}x (target <= 0.6)`,
    );
  } else console.log('no peer ran: no ratios to peers');
  console.log(
    `AquaML c=32 throughput / no-HTTP pipeline ceiling: ${(me.rps / ceiling.rate).toFixed(2)}x (target >= 0.75)`,
  );
  console.log(`AquaML c=32 p99: ${f0(me.p99)} ms (target <= 250); errors: ${me.errors} (target 0)`);
  console.log(
    `AquaML CPU per request at c=32, by thread (ms; 2 cores = 2000 ms of CPU per second):\n  ${results[0]!.threads.map((s, i) => `round ${i + 1}: ${s}`).join('\n  ')}`,
  );
  const stats = (await (
    await fetch(`${aquaml.url}/api/v1/models/stats`, {
      headers: { authorization: `Bearer ${access_token}` },
    })
  ).json()) as {
    items: { name: string; version: number; mean_batch_size: number | null; queue_ms: unknown }[];
  };
  const s = stats.items.find((i) => i.name === 'species' && i.version === 1);
  console.log(
    `AquaML server view: mean batch size ${s?.mean_batch_size?.toFixed(2)}, queue wait ${JSON.stringify(s?.queue_ms)}; RSS ${f0(aquaml.rssMb())} MiB`,
  );
} finally {
  for (const stop of stops.reverse())
    await stop().catch((err: unknown) => console.log(`stopping: ${String(err)}`));
  rmSync(dataDir, { recursive: true, force: true });
}
