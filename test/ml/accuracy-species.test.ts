// The shipped model on the shared data, guarded at its measured level (top-1 0.921, macro-F1 0.896,
// ECE 0.025: docs/model-research.md §17): top-1 >= 0.91, macro-F1 >= 0.88, ECE <= 0.05. The open
// set at issue 14's operating point: the open-set check turns away <= 5 % of fish val (measured
// 4.9 %, §22), >= 97 % of the non-fish set (98.3 %) and >= 92.5 % of each of its sources (measured
// 95-100 %; one image of 40 below the least, for a borderline score). No source chose a threshold:
// they are set on fish val alone. <= 7 % of fish val is unknown for any reason (5.7 %).
// Slow on a cold cache (first embedding pass); skipped when the data set is absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BackbonePool } from '../../src/ml/backbone/session.ts';
import { loadModel } from '../../src/ml/classifier.ts';
import { evaluateModel, formatEvaluation } from '../../src/ml/evaluate/evaluate-model.ts';
import { accuracySkip, DATASETS_DIR } from './helpers.ts';

const MODEL = resolve('models/species/1');
const NONFISH = resolve('data/nonfish');

function nonfishDir(): string | undefined {
  if (existsSync(join(NONFISH, '.complete'))) return NONFISH;
  try {
    execFileSync('bash', ['scripts/fetch-nonfish.sh'], { stdio: 'ignore', timeout: 300_000 });
    return NONFISH;
  } catch {
    return undefined;
  }
}

test(
  'shipped species model meets the accuracy, calibration and open-set bars',
  { timeout: 900_000 },
  async (t) => {
    const skip = accuracySkip('fish-species');
    if (skip) return t.skip(skip);
    const pool = new BackbonePool(resolve('data/store'));
    try {
      const clf = await loadModel(MODEL, pool);
      const ood = nonfishDir();
      if (!ood)
        t.diagnostic(
          'non-fish set unavailable (apt-get download failed): open-set bar not checked',
        );
      const ev = await evaluateModel(clf, join(DATASETS_DIR, 'fish-species', 'val'), {
        oodDir: ood,
      });
      t.diagnostic(formatEvaluation(ev, 'species val'));
      // The bars (shipped model: 0.896 / 0.856 / 0.029, see docs/model-research.md).
      assert.ok(ev.accuracy >= 0.91, `top-1 ${ev.accuracy}`);
      assert.ok(ev.macro_f1 >= 0.88, `macro-F1 ${ev.macro_f1}`);
      assert.ok(ev.ece <= 0.05, `ECE ${ev.ece}`);
      assert.ok(ev.unknown_rate <= 0.07, `fish unknown rate ${ev.unknown_rate}`);
      assert.ok(ev.open_set_rejected_rate <= 0.05, `fish lost ${ev.open_set_rejected_rate}`);
      if (ev.ood) {
        assert.ok(ev.ood.unknown_rate >= 0.97, `non-fish unknown rate ${ev.ood.unknown_rate}`);
        assert.ok(Object.keys(ev.ood.by_source).length >= 9, 'every non-fish source is read');
        for (const [source, f] of Object.entries(ev.ood.by_source))
          assert.ok(f.unknown_rate >= 0.925, `${source}: ${f.unknown_rate} unknown`);
      }
    } finally {
      await pool.close();
    }
  },
);
