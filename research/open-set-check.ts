// The shipped open-set check refitted around a research head: what a head trained on other rows
// does to the novelty score that rejects (max-logit + ½·residual, the manifest's settings), fitted
// as `trainModel` fits it (novelty model on the originals and mirrors, float16 round trip,
// threshold at the manifest's known-fish loss on val), and the share of each non-fish source it
// rejects. The served rule's low-confidence gate is left out: this is the novelty score alone.
import { noveltySettings } from '../src/ml/artifact/manifest.ts';
import { decodeHalf, encodeHalf } from '../src/ml/artifact/float16.ts';
import { MatMulABt } from '../src/ml/gemm.ts';
import {
  combineNovelty,
  fitNovelty,
  noveltyFeatures,
  noveltyPartScores,
} from '../src/ml/novelty.ts';
import { openSetFeatures } from '../src/ml/openset.ts';
import type { shippedSpecies } from './shipped.ts';
import { fitShippedLogits } from './val-and-cv.ts';

type Shipped = Awaited<ReturnType<typeof shippedSpecies>>;

export interface NonFishRow {
  source: string;
  row: Float32Array;
}

export async function noveltyRejection(
  s: Shipped,
  head: { rows: Float32Array[]; y: Int32Array },
  openSet: { rows: Float32Array[]; y: Int32Array },
  val: Float32Array[],
  nonfish: readonly NonFishRow[],
) {
  const { manifest, labels, taps, bspec } = s;
  const settings = noveltySettings(manifest.novelty!);
  const logits = await fitShippedLogits(s, head.rows, head.y);
  const maxLogit = (r: Float32Array) => Math.max(...logits(r));
  const osf = (r: Float32Array) =>
    openSetFeatures(r, taps, bspec.width, manifest.open_set.feature_space);
  const mm = await MatMulABt.create();
  try {
    const fit = await fitNovelty(
      openSet.rows.map(osf),
      openSet.y,
      labels.length,
      val.map(osf),
      val.map(maxLogit),
      settings,
      mm,
      (v) => decodeHalf(encodeHalf(v)),
    );
    const parts = await noveltyPartScores(
      fit.model,
      nonfish.map((n) => noveltyFeatures(osf(n.row))),
      nonfish.map((n) => maxLogit(n.row)),
      mm,
    );
    const scores = combineNovelty(settings.method, parts, fit.scales, settings.weights);
    const bySource: Record<string, { n: number; rejected: number }> = {};
    nonfish.forEach((n, i) => {
      const e = (bySource[n.source] ??= { n: 0, rejected: 0 });
      e.n++;
      if (scores[i]! < fit.threshold) e.rejected++;
    });
    const pct = (a: number, b: number) => +((100 * a) / b).toFixed(1);
    return {
      fish_val_lost_pct: pct(fit.valScores.filter((v) => v < fit.threshold).length, val.length),
      nonfish_rejected_pct: pct(scores.filter((v) => v < fit.threshold).length, nonfish.length),
      by_source_pct: Object.fromEntries(
        Object.entries(bySource).map(([k, e]) => [k, pct(e.rejected, e.n)]),
      ),
    };
  } finally {
    await mm.release();
  }
}
