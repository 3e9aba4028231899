// Per-class recall with a 95 % interval from a bootstrap over clips. Frames of one clip are near
// copies of each other, so an interval over images (Wilson, or a bootstrap of images) would be far
// too narrow: 33 val images from a dozen clips are a dozen independent observations, not 33.
import { rng } from '../rng.ts';

export interface RecallInterval {
  /** 2.5 and 97.5 percentiles of the recall over resampled clips; equal with a single clip. */
  low: number;
  high: number;
  /** Clips (groups) of the class in the evaluation data. */
  clips: number;
}

const RESAMPLES = 2000;

/**
 * For each class with images: its clips are drawn with replacement (as many as it has) and the
 * recall of the drawn images recomputed, `RESAMPLES` times, from a fixed seed (deterministic).
 * `truth[i] < 0` (a class the model does not know) is left out.
 */
export function recallIntervals(
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
  groups: readonly string[],
  labels: readonly string[],
  seed = 7,
): Record<string, RecallInterval> {
  const out: Record<string, RecallInterval> = {};
  labels.forEach((label, c) => {
    const clips = new Map<string, { n: number; correct: number }>();
    for (let i = 0; i < truth.length; i++) {
      if (truth[i] !== c) continue;
      const g = clips.get(groups[i]!) ?? { n: 0, correct: 0 };
      g.n += 1;
      if (predicted[i] === c) g.correct += 1;
      clips.set(groups[i]!, g);
    }
    const list = [...clips.values()];
    if (!list.length) return;
    const rand = rng(seed + c);
    const recalls = new Float64Array(RESAMPLES);
    for (let r = 0; r < RESAMPLES; r++) {
      let n = 0;
      let correct = 0;
      for (let j = 0; j < list.length; j++) {
        const g = list[Math.floor(rand() * list.length)]!;
        n += g.n;
        correct += g.correct;
      }
      recalls[r] = correct / n;
    }
    recalls.sort();
    out[label] = {
      low: recalls[Math.floor(0.025 * RESAMPLES)]!,
      high: recalls[Math.ceil(0.975 * RESAMPLES) - 1]!,
      clips: list.length,
    };
  });
  return out;
}
