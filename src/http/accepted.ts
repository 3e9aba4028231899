import type { FastifyReply } from 'fastify';

/** Where a task is read: the `Location` of every 202 and the `task_url` of its body. */
export const taskUrl = (taskId: string) => `/api/v1/tasks/${taskId}`;

/** A 202 for work that continues as a task: the `Location` header points at the task. */
export function accepted(reply: FastifyReply, taskId: string): FastifyReply {
  return reply.code(202).header('location', taskUrl(taskId));
}
