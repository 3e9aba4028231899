// Runtime classifier over a model artefact: one ORT run per batch on the shared backbone
// session, then the small head, temperature, and the open-set check in plain TypeScript.
import type { BackbonePool, BackboneSession } from './backbone/session.ts';
import { concatTaps } from './embed/embedder.ts';
import { backboneInt8, type Manifest, preprocessSpec, unknownRule } from './artifact/manifest.ts';
import { readArtifact } from './artifact/store.ts';
import type { ModelParts } from './artifact/store.ts';
import { MatMulABt } from './gemm.ts';
import { combineNovelty, noveltyPartScores } from './novelty.ts';
import {
  l2normalize,
  openSetFeatures,
  type UnknownReason,
  type UnknownRule,
  unknownReason,
} from './openset.ts';
import { flipHorizontal } from './preprocess.ts';
import type { PreprocessSpec } from './preprocess.ts';
import { argmax, softmax } from './head/head.ts';
import { pack, standardize } from './head/standardize.ts';

export interface Prediction {
  label: string;
  confidence: number;
  status: 'ok' | 'unknown';
  /**
   * Why an image is unknown. With a novelty model (manifest `novelty`): `not_a_fish` (unlike
   * any training fish) or `unknown_species` (a fish, unlike every known species); without one,
   * `out_of_distribution` covers both. `low_confidence`: too unsure between known classes.
   */
  unknown_reason?: UnknownReason;
  top_k: { label: string; confidence: number }[];
  ood_score: number;
  /** Novelty among fish (higher = more like a known species); with a novelty model only. */
  novelty_score?: number;
  /** Summary of the standardised features, for drift monitoring. */
  embedding: { norm: number; mean: number };
  probabilities?: number[];
}

export interface PredictOptions {
  topK?: number;
  /** Override the model's flip-TTA option (doubles backbone cost). */
  flipTta?: boolean;
  includeProbabilities?: boolean;
}

export interface Classifier {
  readonly manifest: Manifest;
  readonly preprocessing: PreprocessSpec;
  predictBatch(inputs: Float32Array[], opts?: PredictOptions): Promise<Prediction[]>;
}

export async function loadModel(artefactDir: string, backbones: BackbonePool): Promise<Classifier> {
  const parts = await readArtifact(artefactDir);
  // A graph with only this model's taps as outputs (see backbone/build.ts), int8 or fp32.
  const b = parts.manifest.backbone;
  const session = await backbones.get(b.id, b.taps, backboneInt8(b));
  return new ArtefactClassifier(parts.manifest, parts, session, await MatMulABt.create());
}

class ArtefactClassifier implements Classifier {
  readonly preprocessing: PreprocessSpec;
  private readonly rule: UnknownRule;

  constructor(
    readonly manifest: Manifest,
    private readonly parts: ModelParts,
    private readonly session: BackboneSession,
    private readonly matmul: MatMulABt,
  ) {
    this.preprocessing = preprocessSpec(manifest);
    this.rule = unknownRule(manifest);
    if (session.inputSize !== this.preprocessing.size)
      throw new Error(
        `backbone input ${session.inputSize} != model input ${this.preprocessing.size}`,
      );
  }

  /** Logits of every row of the standardised batch Z [m × d]: [m × classes]. */
  private async headLogitsBatch(Z: Float32Array, m: number): Promise<Float32Array> {
    let h = Z;
    for (const l of this.parts.head.layers) {
      const o = await this.matmul.run(h, m, l.weight, l.outDim);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < l.outDim; j++) {
          const v = o[i * l.outDim + j] + l.bias[j];
          o[i * l.outDim + j] = l.relu && v < 0 ? 0 : v;
        }
      h = o;
    }
    return h;
  }

  async predictBatch(inputs: Float32Array[], opts: PredictOptions = {}): Promise<Prediction[]> {
    const n = inputs.length;
    if (!n) return [];
    const s = this.manifest.preprocessing.size;
    const px = s * s * 3;
    const tta = opts.flipTta ?? this.manifest.options.flip_tta;
    const m = tta ? 2 * n : n;
    const batch = new Float32Array(m * px);
    inputs.forEach((x, i) => {
      if (x.length !== px)
        throw new Error(`input ${i} has ${x.length} floats, expected ${s}x${s}x3`);
      batch.set(x, i * px);
      if (tta) batch.set(flipHorizontal(x, s), (n + i) * px);
    });
    const taps = this.manifest.backbone.taps;
    const out = await this.session.run(batch, m, taps);
    const { standardizer, prototypes } = this.parts;
    const labels = this.manifest.labels;
    const k = Math.min(opts.topK ?? 5, labels.length);
    const T = this.manifest.calibration.temperature;
    // The head and the open-set similarities are matrix products over the whole batch.
    const raws = Array.from({ length: m }, (_, i) => concatTaps(out, taps, m, i));
    const d = raws[0].length;
    const Z = new Float32Array(m * d);
    raws.forEach((raw, i) => standardize(standardizer, raw, Z.subarray(i * d, (i + 1) * d)));
    const logitsAll = await this.headLogitsBatch(Z, m);
    const space = this.manifest.open_set.feature_space ?? 'raw-l2';
    const F = pack(
      raws
        .slice(0, n)
        .map((raw) => l2normalize(openSetFeatures(raw, taps, this.session.spec.width, space))),
    );
    const sims = await this.matmul.run(F, n, prototypes.vectors, prototypes.classes.length);
    const c = labels.length;
    const nv = this.manifest.novelty;
    const fd = F.length / n;
    // Novelty parts over the batch (Gaussians, subspace: matrix products); the max-logit part
    // uses the same (flip-averaged) logits as the answer.
    const logitsOf = (i: number): Float32Array | number[] => {
      const l = logitsAll.subarray(i * c, (i + 1) * c);
      if (!tta) return l;
      const lf = logitsAll.subarray((n + i) * c, (n + i + 1) * c);
      return Array.from(l, (v, j) => (v + lf[j]) / 2);
    };
    const novelties =
      nv && this.parts.novelty
        ? combineNovelty(
            nv.method,
            await noveltyPartScores(
              this.parts.novelty,
              Array.from({ length: n }, (_, i) => F.subarray(i * fd, (i + 1) * fd)),
              Array.from({ length: n }, (_, i) => Math.max(...logitsOf(i))),
              this.matmul,
            ),
            nv.scales,
            nv.weights,
          )
        : undefined;
    const P = prototypes.classes.length;
    return inputs.map((_, i) => {
      const logits = logitsOf(i);
      const z = Z.subarray(i * d, (i + 1) * d);
      const p = softmax(logits, T);
      const best = argmax(p);
      const novelty = novelties?.[i];
      let ood = -1;
      for (let r = 0; r < P; r++) ood = Math.max(ood, sims[i * P + r]);
      const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a] || a - b);
      const reason = unknownReason(this.rule, {
        similarity: ood,
        novelty,
        confidence: p[best],
      });
      let sum = 0;
      let sq = 0;
      for (const v of z) {
        sum += v;
        sq += v * v;
      }
      const pred: Prediction = {
        label: labels[best],
        confidence: p[best],
        status: reason ? 'unknown' : 'ok',
        top_k: order.slice(0, k).map((j) => ({ label: labels[j], confidence: p[j] })),
        ood_score: ood,
        embedding: { norm: Math.sqrt(sq), mean: sum / z.length },
      };
      if (novelty !== undefined) pred.novelty_score = novelty;
      if (reason) pred.unknown_reason = reason;
      if (opts.includeProbabilities) pred.probabilities = Array.from(p);
      return pred;
    });
  }
}
