// One onnxruntime-node session per backbone file, created once and shared by every model
// version that uses it. Runs are serialised: two concurrent runs would only fight over the
// same intra-op threads.
//
// With more than one intra-op thread, a second session on the same graph runs with one: small
// batches (a quiet service) gain nothing from a thread pool whose hand-offs cost more than they
// save, and leave the other core to decoding and HTTP; batches of WIDE_BATCH images or more (a
// deep queue) get every thread. The pool does not spin between runs: on a machine whose cores are
// shared with decoding, HTTP or other processes, spinning threads took the CPU the rest needed
// (measured: two spinning threads ran the backbone at a third of the speed of one thread).
import * as ort from 'onnxruntime-node';
import { ensureBackbone } from './build.ts';
import { type ActivationRanges, rangesId } from './onnx-writer.ts';
import { parseBackboneId } from './specs.ts';
import type { BackboneSpec } from './specs.ts';

/** Intra-op threads of a session unless told otherwise (AQUAML_TRAINING_THREADS, the engine's own). */
export const DEFAULT_INTRA_OP_THREADS = 2;

export interface BackboneSessionOptions {
  intraOpThreads?: number;
}

/** The smallest batch that runs on every intra-op thread (smaller ones run on one). */
export const WIDE_BATCH = 8;

export class BackboneSession {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly spec: BackboneSpec,
    private readonly session: ort.InferenceSession,
    /** The same graph on one thread, for batches below WIDE_BATCH (when `session` has more). */
    private readonly narrow: ort.InferenceSession | undefined,
    /** The graph's outputs (the taps it was built for). */
    readonly outputs: readonly string[],
    /** `fp32`, or `int8-<ranges id>`: features differ between them (embedding cache keys). */
    readonly variant: string,
  ) {}

  /** `taps`: the graph's outputs when it was built for an explicit tap list. */
  static async create(
    onnxPath: string,
    id: string,
    opts: BackboneSessionOptions = {},
    taps?: readonly string[],
    int8?: ActivationRanges,
  ): Promise<BackboneSession> {
    const threads = opts.intraOpThreads ?? DEFAULT_INTRA_OP_THREADS;
    const create = (intraOpNumThreads: number) =>
      ort.InferenceSession.create(onnxPath, {
        intraOpNumThreads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        // Batch sizes vary from run to run (dynamic batching): a memory pattern is planned per input
        // shape, and each first-seen shape made a run several times slower (the p99 outliers of
        // `npm run bench -- inference`); without it the median run time stays the same.
        enableMemPattern: false,
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
    const session = await create(threads);
    const narrow = threads > 1 ? await create(1) : undefined;
    const spec = parseBackboneId(id);
    return new BackboneSession(
      spec,
      session,
      narrow,
      taps ? [...taps] : spec.taps,
      int8 ? `int8-${rangesId(int8)}` : 'fp32',
    );
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
      const session = this.narrow && n < WIDE_BATCH ? this.narrow : this.session;
      const out = await session.run({ input: new ort.Tensor('float32', batch, [n, s, s, 3]) }, [
        ...fetches,
      ]);
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
    await this.narrow?.release();
  }
}

/**
 * Process-wide registry: one session per (store, backbone id, output taps, precision). Models that name
 * their taps get a graph with only those outputs (faster: see build.ts); models on the same
 * backbone and taps share one session.
 */
export class BackbonePool {
  private sessions = new Map<string, Promise<BackboneSession>>();

  constructor(
    readonly storeDir: string,
    private readonly opts: BackboneSessionOptions = {},
  ) {}

  /** `int8`: the activation ranges of a statically quantised graph (manifest `backbone.quantization`). */
  get(id: string, taps?: readonly string[], int8?: ActivationRanges): Promise<BackboneSession> {
    const key = `${taps ? `${id}|${taps.join(',')}` : id}${int8 ? `|int8-${rangesId(int8)}` : ''}`;
    let s = this.sessions.get(key);
    if (!s) {
      s = ensureBackbone(this.storeDir, id, taps, int8).then((p) =>
        BackboneSession.create(p, id, this.opts, taps, int8),
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
