// Raw onnxruntime throughput (no HTTP, no decode) of backbone graphs on this machine:
// img/s at batch 1 / 8 / 32 with 2 intra-op threads, fetching only the taps a head uses.
// By default the graph is built with exactly those taps as outputs (as served); `--full-graph`
// runs the graph with every average-pooled tap as an output instead (fetching the same taps).
// Usage: node bin/run-ts.js bench/ml-throughput.ts [id:tap+tap ...] [--seconds 3] [--json out.jsonl] [--full-graph]
// Taps may carry pooling suffixes (`b13_expand:q2`); the load average is recorded with each row.
import { appendFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { BackbonePool } from '../src/ml/backbone/session.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : dflt;
};
const seconds = Number(opt('--seconds', '3'));
const jsonOut = opt('--json', '');
const threads = Number(opt('--threads', '2'));
const full = args.includes('--full-graph');
if (full) args.splice(args.indexOf('--full-graph'), 1);
const cands = args.length
  ? args
  : [
      'mnv2-140-224-b16:b13_expand+b16_out',
      'mnv2-140-160-b16:b13_expand+b16_out',
      'mnv2-100-224:embedding',
    ];
const pool = new BackbonePool(resolve(process.env.AQUAML_STORE ?? 'data/store'), {
  intraOpThreads: threads,
});
for (const c of cands) {
  const cut = c.indexOf(':');
  const id = cut < 0 ? c : c.slice(0, cut);
  const taps = cut < 0 ? undefined : c.slice(cut + 1).split('+');
  const s = await pool.get(id, full ? undefined : taps);
  const load0 = loadavg()[0];
  const res: Record<string, number> = {};
  for (const bs of [1, 8, 32]) {
    const px = s.inputSize * s.inputSize * 3;
    const x = new Float32Array(bs * px).map((_, i) => ((i * 7919) % 255) / 255);
    await s.run(x, bs, taps);
    const times: number[] = [];
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end || times.length < 3) {
      const t0 = performance.now();
      await s.run(x, bs, taps);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    res[`b${bs}`] = Math.round((bs * 1000) / median);
    res[`b${bs}_ms`] = Number(median.toFixed(2));
  }
  const row = {
    id,
    taps: taps ?? 'all',
    graph: full || !taps ? 'all taps' : 'these taps',
    threads,
    ...res,
    load1: [Number(load0.toFixed(2)), Number(loadavg()[0].toFixed(2))],
  };
  console.log(JSON.stringify(row));
  if (jsonOut) appendFileSync(jsonOut, `${JSON.stringify(row)}\n`);
}
await pool.close();
