import type { FastifyReply } from 'fastify';
import { accepted, taskUrl } from '../../http/accepted.ts';
import { badRequest } from '../../http/errors.ts';
import { checkImageFolderLayout, DatasetLayoutError } from '../../ml/data/dataset.ts';
import type { AppServices } from '../app-services.ts';
import { principalOf } from '../auth/plugin.ts';
import { DataSourceError, resolveSource } from './sources.ts';

/**
 * Checks a folder now, so a typo or a wrong layout is a 400 here and not a failed task later.
 * `minClasses` 0 skips the layout check (open-set folders hold images of anything).
 */
export async function checkFolder(
  roots: string[],
  value: string | undefined,
  field: string,
  minClasses: number,
): Promise<void> {
  if (value === undefined) return;
  try {
    const dir = await resolveSource(value, roots);
    if (minClasses > 0) await checkImageFolderLayout(dir, value, minClasses);
  } catch (err) {
    if (err instanceof DataSourceError || err instanceof DatasetLayoutError) {
      throw badRequest(`${field}: ${err.message}`, `body.${field}`);
    }
    throw err;
  }
}

/** Creates the task of a training request and answers 202 with where to follow it. */
export async function acceptTask(
  ctx: AppServices,
  request: Parameters<typeof principalOf>[0],
  reply: FastifyReply,
  type: string,
  payload: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  const task = await ctx.tasks.create({
    type,
    payload: { ...payload, user_id: principalOf(request).userId },
    userId: principalOf(request).userId,
    apiKeyId: principalOf(request).apiKeyId,
    // Training is long and deterministic: one retry covers a worker lost mid-run.
    attempts: 2,
  });
  return accepted(reply, task.id).send({
    task_id: task.id,
    type,
    state: task.state,
    task_url: taskUrl(task.id),
    ...extra,
  });
}
