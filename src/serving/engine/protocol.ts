import type { Manifest } from '../../ml/artifact/manifest.ts';
import type { Prediction, PredictOptions } from '../../ml/classifier.ts';

/** Messages from the main thread to the inference thread. */
export type EngineRequest =
  | { op: 'load'; id: number; key: string; dir: string }
  | { op: 'unload'; id: number; key: string }
  | { op: 'predict'; id: number; key: string; inputs: Uint8Array[]; options: PredictOptions };

export interface PredictReply {
  predictions: Prediction[];
  /** Time the inference thread spent on the batch (backbone, head, open-set check). */
  runMs: number;
}

export type EngineValue = { manifest: Manifest } | PredictReply | null;

export type EngineResponse =
  { id: number; ok: true; value: EngineValue } | { id: number; ok: false; error: string };

export interface EngineInit {
  storeDir: string;
  intraOpThreads: number;
}
