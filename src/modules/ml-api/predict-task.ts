import { createHash } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { taskFiles } from '../../db/schema.ts';
import { ImageInputError } from '../../ml/preprocess.ts';
import type { TaskInputs } from '../tasks/inputs.ts';
import { PermanentTaskError, type TaskHandler } from '../tasks/runner.ts';
import type { ClassifyResult } from '../../serving/answer.ts';
import type { ClassificationService } from '../../serving/classification.ts';

export const PREDICT_TASK = 'predict.batch';
/** One image: the task's result is the same answer the synchronous predict gives. */
export const PREDICT_IMAGE_TASK = 'predict.image';

export interface PredictPayload {
  model?: string;
  top_k?: number;
  unit_id?: string | null;
  farm_unit_id?: string | null;
  farm_id?: string | null;
  device_id?: string | null;
  user_id?: string | null;
  api_key_id?: string | null;
  /** When the upload arrived: the stored predictions' created_at. */
  received_at?: string;
  files: number;
  /** SHA-256 of the one image of a predict.image task, hashed as it was uploaded. */
  sha256?: string;
}

export interface BatchItem {
  filename: string;
  result?: ClassifyResult;
  error?: string;
}

/** Per-file prediction ids derived from the task, so a retried run stores each prediction once. */
export function predictionIdFor(taskId: string, position: number): string {
  const h = createHash('sha256').update(`${taskId}:${position}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function summarise(items: BatchItem[]) {
  const perSpecies: Record<string, number> = {};
  let unknown = 0;
  let failed = 0;
  for (const i of items) {
    if (!i.result) failed += 1;
    else if (i.result.status === 'unknown') unknown += 1;
    else perSpecies[i.result.label] = (perSpecies[i.result.label] ?? 0) + 1;
  }
  return {
    total: items.length,
    succeeded: items.length - failed,
    failed,
    unknown,
    per_species: perSpecies,
  };
}

function classifyInput(payload: PredictPayload, image: Buffer, predictionId: string) {
  return {
    image,
    model: payload.model,
    unitId: payload.unit_id ?? null,
    farmUnitId: payload.farm_unit_id ?? null,
    farmId: payload.farm_id ?? null,
    deviceId: payload.device_id ?? null,
    userId: payload.user_id ?? null,
    apiKeyId: payload.api_key_id ?? null,
    callerId: payload.user_id ?? payload.api_key_id ?? undefined,
    source: 'task',
    topK: payload.top_k,
    predictionId,
    receivedAt: payload.received_at ? new Date(payload.received_at) : undefined,
  };
}

/** Classifies the one image stored with a task; the result has the shape of the sync answer. */
export function predictImageTaskHandler(
  inputs: TaskInputs,
  classifier: () => ClassificationService,
): TaskHandler<PredictPayload> {
  return async (payload, ctx) => {
    const image = await inputs.read(ctx.taskId, 0);
    if (!image) throw new PermanentTaskError('the task has no image');
    try {
      const result = await classifier().classify({
        ...classifyInput(payload, image, predictionIdFor(ctx.taskId, 0)),
        sha256: payload.sha256,
      });
      await ctx.progress(1, '1/1 images');
      return result;
    } catch (err) {
      // A bad image will not get better on a retry.
      if (err instanceof ImageInputError) throw new PermanentTaskError(err.message);
      throw err;
    }
  };
}

/** Classifies the images stored with a task, a few at a time so the dynamic batcher can group them. */
export function predictTaskHandler(
  db: Database,
  inputs: TaskInputs,
  classifier: () => ClassificationService,
): TaskHandler<PredictPayload> {
  return async (payload, ctx) => {
    const files = await db
      .select({ position: taskFiles.position, filename: taskFiles.filename })
      .from(taskFiles)
      .where(eq(taskFiles.taskId, ctx.taskId))
      .orderBy(asc(taskFiles.position));
    if (!files.length) throw new PermanentTaskError('the task has no images');
    const items: BatchItem[] = new Array(files.length);
    const window = 16;
    let done = 0;
    for (let i = 0; i < files.length; i += window) {
      ctx.signal.throwIfAborted();
      const slice = files.slice(i, i + window);
      await Promise.all(
        slice.map(async (f) => {
          const image = await inputs.read(ctx.taskId, f.position);
          if (!image) throw new PermanentTaskError(`the input ${f.filename} is missing`);
          try {
            const result = await classifier().classify(
              classifyInput(payload, image, predictionIdFor(ctx.taskId, f.position)),
            );
            items[f.position] = { filename: f.filename, result };
          } catch (err) {
            // A bad image fails alone; anything else (model gone, engine down) fails the run for a retry.
            if (!(err instanceof ImageInputError)) throw err;
            items[f.position] = { filename: f.filename, error: err.message };
          }
        }),
      );
      done += slice.length;
      await ctx.progress(done / files.length, `${done}/${files.length} images`);
    }
    return { summary: summarise(items), items };
  };
}
