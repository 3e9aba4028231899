// One onnxruntime-node session per backbone file, created once and shared by every model
// version that uses it. Runs are serialised: two concurrent runs would only fight over the
// same intra-op threads.
import * as ort from 'onnxruntime-node';
import { ensureBackbone } from './build.ts';
import { parseBackboneId } from './specs.ts';
import type { BackboneSpec } from './specs.ts';

export interface BackboneSessionOptions {
  intraOpThreads?: number;
}

export class BackboneSession {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly spec: BackboneSpec,
    private readonly session: ort.InferenceSession,
    /** The graph's outputs (the taps it was built for). */
    readonly outputs: readonly string[],
  ) {}

  /** `taps`: the graph's outputs when it was built for an explicit tap list. */
  static async create(
    onnxPath: string,
    id: string,
    opts: BackboneSessionOptions = {},
    taps?: readonly string[],
  ): Promise<BackboneSession> {
    const session = await ort.InferenceSession.create(onnxPath, {
      intraOpNumThreads: opts.intraOpThreads ?? 2,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Batch sizes vary from run to run (dynamic batching): a memory pattern is planned per input
      // shape, and each first-seen shape made a run several times slower (the p99 outliers of
      // `npm run bench -- inference`); without it the median run time stays the same.
      enableMemPattern: false,
    });
    const spec = parseBackboneId(id);
    return new BackboneSession(spec, session, taps ? [...taps] : spec.taps);
  }

  get inputSize(): number {
    return this.spec.inputSize;
  }

  /** `batch` is NHWC float32 holding `n` images; returns one [n × C] array per requested tap. */
  run(
    batch: Float32Array,
    n: number,
    taps?: readonly string[],
  ): Promise<Record<string, Float32Array>> {
    const s = this.spec.inputSize;
    if (batch.length !== n * s * s * 3)
      throw new Error(`batch has ${batch.length} floats, expected ${n}x${s}x${s}x3`);
    const fetches = taps ?? this.outputs;
    const job = this.queue.then(async () => {
      const out = await this.session.run(
        { input: new ort.Tensor('float32', batch, [n, s, s, 3]) },
        [...fetches],
      );
      const res: Record<string, Float32Array> = {};
      for (const t of fetches) res[t] = out[t].data as Float32Array;
      return res;
    });
    this.queue = job.catch(() => undefined);
    return job;
  }

  async release(): Promise<void> {
    await this.queue;
    await this.session.release();
  }
}

/**
 * Process-wide registry: one session per (store, backbone id, output taps). Models that name
 * their taps get a graph with only those outputs (faster: see build.ts); models on the same
 * backbone and taps share one session.
 */
export class BackbonePool {
  private sessions = new Map<string, Promise<BackboneSession>>();

  constructor(
    readonly storeDir: string,
    private readonly opts: BackboneSessionOptions = {},
  ) {}

  get(id: string, taps?: readonly string[]): Promise<BackboneSession> {
    const key = taps ? `${id}|${taps.join(',')}` : id;
    let s = this.sessions.get(key);
    if (!s) {
      s = ensureBackbone(this.storeDir, id, taps).then((p) =>
        BackboneSession.create(p, id, this.opts, taps),
      );
      s.catch(() => this.sessions.delete(key));
      this.sessions.set(key, s);
    }
    return s;
  }

  async close(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map(async (s) => (await s).release().catch(() => undefined)));
  }
}
