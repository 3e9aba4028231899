/* global fetch, performance, setTimeout */
// Runs in its own process (so its timings are not the uploader's event loop): GETs <url>/health
// every few ms until stdin closes, then prints every round trip in ms as one JSON array.
const url = process.argv[2];
const samples = [];
let running = true;
process.stdin.on('end', () => (running = false));
process.stdin.resume();
// One warm-up request: the first connection's setup is not what is measured.
await (await fetch(`${url}/health`)).arrayBuffer();
process.stdout.write('ready\n');
while (running) {
  const started = performance.now();
  const res = await fetch(`${url}/health`);
  await res.arrayBuffer();
  samples.push(res.status === 200 ? performance.now() - started : Infinity);
  await new Promise((r) => setTimeout(r, 5));
}
process.stdout.write(`${JSON.stringify(samples.map((s) => (Number.isFinite(s) ? s : -1)))}\n`);
