// The task system in one process: the embedded queue (or BullMQ, when REDIS_URL is set, with a
// worker inside the test process), on PGlite (or PostgreSQL with DATABASE_URL).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq, inArray } from 'drizzle-orm';
import { predictions, tasks } from '../../src/db/schema.ts';
import { PermanentTaskError, type TaskHandler } from '../../src/modules/tasks/runner.ts';
import {
  freshDataDir,
  signedInUser,
  startTestApp,
  type TestApp,
  type TestUser,
  unique,
} from '../support/app.ts';
import { gate, type Gate, sleep, untilOpenOrAborted, waitFor } from './helpers.ts';

const BACKOFF_MS = 100;
// Task types unique to this run: a shared PostgreSQL may hold other runs' tasks.
const T = unique('t');
const BLOCK = `${T}.block`;
const FLAKY = `${T}.flaky`;
const BROKEN = `${T}.broken`;
const INVALID = `${T}.invalid`;
const STUBBORN = `${T}.stubborn`;

/** Per task id: the gate its handler waits on. */
const gates = new Map<string, Gate>();
const gateOf = (id: string) => {
  let g = gates.get(id);
  if (!g) gates.set(id, (g = gate()));
  return g;
};
/** Per task id: when each run started. */
const runs = new Map<string, number[]>();
const recordRun = (id: string) => runs.set(id, [...(runs.get(id) ?? []), Date.now()]);

const handlers: Record<string, TaskHandler> = {
  // Reports half-way, then waits for its gate (or its abort) and echoes the payload.
  [BLOCK]: async (payload, ctx) => {
    recordRun(ctx.taskId);
    await ctx.progress(0.5, 'half way');
    await untilOpenOrAborted(gateOf(ctx.taskId), ctx);
    return { echo: payload, attempt: ctx.attempt };
  },
  // Fails on its first two runs.
  [FLAKY]: async (_payload, ctx) => {
    recordRun(ctx.taskId);
    if (ctx.attempt < 3) throw new Error(`flaky failure ${ctx.attempt}`);
    return { ok: true, attempt: ctx.attempt };
  },
  [BROKEN]: async (_payload, ctx) => {
    recordRun(ctx.taskId);
    throw new Error('the handler always fails');
  },
  [INVALID]: async (_payload, ctx) => {
    recordRun(ctx.taskId);
    throw new PermanentTaskError('payload is not acceptable');
  },
  // Ignores its signal but reports progress in a loop: progress() is its cancellation point.
  [STUBBORN]: async (_payload, ctx) => {
    recordRun(ctx.taskId);
    for (let i = 0; i < 1_000; i += 1) {
      await sleep(20);
      await ctx.progress(i / 1_000, `step ${i}`);
    }
    return { finished: true };
  },
};

const overrides = {
  QUEUE_BACKOFF_MS: String(BACKOFF_MS),
  WORKER_CONCURRENCY: '1',
  QUEUE_LOCK_DURATION_MS: '5000',
};

let t: TestApp;
let owner: TestUser;
let other: TestUser;
let operator: TestUser;
let admin: TestUser;

before(async () => {
  t = await startTestApp({ overrides, context: { taskHandlers: handlers } });
  [owner, other, operator, admin] = await Promise.all([
    signedInUser(t, 'viewer'),
    signedInUser(t, 'viewer'),
    signedInUser(t, 'operator'),
    signedInUser(t, 'admin'),
  ]);
});
after(async () => {
  for (const g of gates.values()) g.open();
  await t.close();
});

const get = (id: string, user: TestUser) =>
  t.app.inject({ method: 'GET', url: `/api/v1/tasks/${id}`, headers: user.headers });
const cancel = (id: string, user: TestUser) =>
  t.app.inject({ method: 'DELETE', url: `/api/v1/tasks/${id}`, headers: user.headers });

async function create(type: string, payload: Record<string, unknown> = {}, attempts?: number) {
  return t.ctx.tasks.create({ type, payload, userId: owner.id, attempts });
}

/** Polls the task over HTTP (as its owner) until `ok` holds. */
async function waitForTask(
  id: string,
  what: string,
  ok: (task: Record<string, unknown>) => boolean,
) {
  return waitFor(what, async () => {
    const res = await get(id, owner);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as Record<string, unknown>;
    return ok(body) && body;
  });
}

/** Occupies the single worker slot until the returned gate opens. */
async function occupyWorker() {
  const blocker = await create(BLOCK, { blocker: true });
  await waitForTask(blocker.id, 'the blocker to run', (b) => b.state === 'running');
  return gateOf(blocker.id);
}

describe('task lifecycle', () => {
  test('queued → running (with progress) → succeeded, with result and timings', async () => {
    const created = await create(BLOCK, { fish: 'tilapia' });
    assert.equal(created.state, 'queued');

    const running = await waitForTask(
      created.id,
      'progress while running',
      (b) => b.state === 'running' && b.progress === 0.5,
    );
    assert.equal(running.progress_note, 'half way');
    assert.equal(running.attempts, 1);
    assert.ok(running.started_at);
    assert.equal(running.finished_at, null);
    assert.equal(running.result, null);
    const timings = running.timings as { queue_ms: number; run_ms: number | null };
    assert.ok(timings.queue_ms >= 0 && timings.run_ms !== null && timings.run_ms >= 0);

    gateOf(created.id).open();
    const done = await waitForTask(created.id, 'success', (b) => b.state === 'succeeded');
    assert.deepEqual(done.result, { echo: { fish: 'tilapia' }, attempt: 1 });
    assert.equal(done.progress, 1);
    assert.equal(done.error, null);
    assert.equal(done.attempts, 1);
    assert.equal(done.user_id, owner.id);
    const finished = Date.parse(String(done.finished_at));
    const started = Date.parse(String(done.started_at));
    const createdAt = Date.parse(String(done.created_at));
    const end = done.timings as { queue_ms: number; run_ms: number };
    assert.equal(end.queue_ms, started - createdAt);
    assert.equal(end.run_ms, finished - started);
    assert.deepEqual(runs.get(created.id)?.length, 1);
  });

  test('a handler that fails twice is retried with back-off and stores its result once', async () => {
    const task = await create(FLAKY);
    const done = await waitForTask(
      task.id,
      'success after retries',
      (b) => b.state === 'succeeded',
    );
    assert.deepEqual(done.result, { ok: true, attempt: 3 });
    assert.equal(done.attempts, 3);
    assert.equal(done.error, null);
    const starts = runs.get(task.id)!;
    assert.equal(starts.length, 3);
    // Exponential back-off: base, then twice the base (a little slack for timer granularity).
    assert.ok(
      starts[1]! - starts[0]! >= BACKOFF_MS - 10,
      `first retry after ${starts[1]! - starts[0]!} ms`,
    );
    assert.ok(
      starts[2]! - starts[1]! >= 2 * BACKOFF_MS - 10,
      `second retry after ${starts[2]! - starts[1]!} ms`,
    );
    // Nothing runs or writes after the success.
    const [row] = await t.ctx.db.select().from(tasks).where(eq(tasks.id, task.id));
    await sleep(4 * BACKOFF_MS);
    const [later] = await t.ctx.db.select().from(tasks).where(eq(tasks.id, task.id));
    assert.deepEqual(later, row);
    assert.equal(runs.get(task.id)!.length, 3);
  });

  test('a handler that always fails ends failed with its error after every attempt', async () => {
    const task = await create(BROKEN, {}, 3);
    const done = await waitForTask(task.id, 'failure', (b) => b.state === 'failed');
    assert.equal(done.error, 'the handler always fails');
    assert.equal(done.attempts, 3);
    assert.equal(done.result, null);
    assert.ok(done.finished_at);
    await sleep(4 * BACKOFF_MS);
    assert.equal(runs.get(task.id)!.length, 3);
  });

  test('a permanent error fails the task without retries', async () => {
    const task = await create(INVALID, {}, 5);
    const done = await waitForTask(task.id, 'failure', (b) => b.state === 'failed');
    assert.equal(done.error, 'payload is not acceptable');
    assert.equal(done.attempts, 1);
    await sleep(3 * BACKOFF_MS);
    assert.equal(runs.get(task.id)!.length, 1);
  });

  test('an unknown task type is refused', async () => {
    await assert.rejects(create(`${T}.nobody`), /Unknown task type/);
  });
});

describe('cancellation', () => {
  test('a queued task is cancelled at once and never runs', async () => {
    const blocker = await occupyWorker();
    const task = await create(BLOCK, { never: true });
    const res = await cancel(task.id, owner);
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(res.json().state, 'cancelled');
    assert.ok(res.json().finished_at);
    blocker.open();
    await sleep(300);
    assert.equal(runs.get(task.id), undefined);
    assert.equal((await get(task.id, owner)).json().state, 'cancelled');
    // A finished task cannot be cancelled again.
    assert.equal((await cancel(task.id, owner)).statusCode, 409);
  });

  test('a running task whose handler honours the signal ends cancelled', async () => {
    const task = await create(BLOCK);
    await waitForTask(task.id, 'running', (b) => b.state === 'running');
    const res = await cancel(task.id, operator);
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(res.json().cancel_requested, true);
    const done = await waitForTask(task.id, 'cancelled', (b) => b.state === 'cancelled');
    assert.equal(done.result, null);
    assert.ok(done.finished_at);
    assert.equal(runs.get(task.id)!.length, 1);
  });

  test('progress() stops a handler that ignores its signal', async () => {
    const task = await create(STUBBORN);
    await waitForTask(task.id, 'running', (b) => b.state === 'running' && Number(b.progress) > 0);
    assert.equal((await cancel(task.id, owner)).statusCode, 202);
    const done = await waitForTask(task.id, 'cancelled', (b) => b.state === 'cancelled');
    assert.ok(Number(done.progress) < 0.5);
    assert.equal(runs.get(task.id)!.length, 1);
  });

  test('a finished task is a 409', async () => {
    const task = await create(FLAKY, {}, 1);
    await waitForTask(task.id, 'failure', (b) => b.state === 'failed');
    const res = await cancel(task.id, owner);
    assert.equal(res.statusCode, 409);
    assert.match(res.json().detail, /already finished/);
  });
});

describe('access', () => {
  test("every member sees the farm's tasks (SECURITY.md); a viewer cannot cancel another's", async () => {
    const task = await create(BLOCK, { secret: 1 });
    assert.equal((await get(task.id, other)).statusCode, 200);
    assert.equal((await cancel(task.id, other)).statusCode, 403);
    assert.equal((await get(task.id, owner)).statusCode, 200);
    assert.equal((await get(task.id, operator)).statusCode, 200);
    assert.equal((await get(task.id, admin)).statusCode, 200);
    const res = await cancel(task.id, owner);
    assert.equal(res.statusCode, 202);
    await waitForTask(task.id, 'cancelled', (b) => b.state === 'cancelled');
  });

  test('unknown and malformed ids', async () => {
    const missing = await get('00000000-0000-4000-8000-000000000000', operator);
    assert.equal(missing.statusCode, 404);
    assert.match(String(missing.headers['content-type']), /problem\+json/);
    assert.equal((await get('nope', operator)).statusCode, 400);
    const anon = await t.app.inject({ method: 'GET', url: `/api/v1/tasks` });
    assert.equal(anon.statusCode, 401);
  });

  test("listing: viewers see the farm's tasks; everyone filters by user, state and type", async () => {
    const mine = await t.ctx.tasks.create({
      type: FLAKY,
      payload: {},
      userId: other.id,
      attempts: 1,
    });
    await waitFor(
      'the task to finish',
      async () => (await t.ctx.tasks.get(mine.id))?.state === 'failed',
    );
    const list = (user: TestUser, query = '') =>
      t.app.inject({
        method: 'GET',
        url: `/api/v1/tasks?limit=500${query}`,
        headers: user.headers,
      });

    const own = (await list(other, `&user_id=${other.id}`)).json();
    assert.ok(own.items.length >= 1);
    assert.ok(own.items.every((i: { user_id: string }) => i.user_id === other.id));
    assert.equal(own.total, own.items.length);
    const farm = (await list(other)).json();
    assert.ok(farm.items.some((i: { user_id: string }) => i.user_id === owner.id));

    const byUser = (
      await list(operator, `&user_id=${owner.id}&type=${encodeURIComponent(FLAKY)}`)
    ).json();
    assert.ok(byUser.items.length >= 2);
    assert.ok(
      byUser.items.every(
        (i: { user_id: string; type: string }) => i.user_id === owner.id && i.type === FLAKY,
      ),
    );
    const failed = (await list(operator, `&state=failed&type=${encodeURIComponent(FLAKY)}`)).json();
    assert.ok(failed.items.length >= 1);
    assert.ok(failed.items.every((i: { state: string }) => i.state === 'failed'));
    const paged = await t.app.inject({
      method: 'GET',
      url: '/api/v1/tasks?limit=1&offset=1',
      headers: operator.headers,
    });
    assert.equal(paged.statusCode, 200, paged.body);
    assert.equal(paged.json().items.length, 1);
    assert.equal(paged.json().offset, 1);
    assert.ok(paged.json().total >= 2);
    assert.equal((await list(operator, '&state=sleeping')).statusCode, 400);
  });
});

describe('maintenance.purge', () => {
  test('deletes old predictions and old finished tasks, keeps recent and unfinished ones', async () => {
    const old = new Date(Date.now() - 400 * 86_400_000);
    const prediction = (createdAt: Date) => ({
      createdAt,
      modelName: 'purge-test',
      modelVersion: 1,
      label: 'tilapia',
      confidence: 0.9,
      status: 'ok' as const,
      topK: [],
      inferenceMs: 1,
      imageSha256: unique('sha'),
    });
    const [oldPrediction, newPrediction] = await t.ctx.db
      .insert(predictions)
      .values([prediction(old), prediction(new Date())])
      .returning({ id: predictions.id });
    const [oldTask, oldQueued, newTask] = await t.ctx.db
      .insert(tasks)
      .values([
        { type: `${T}.history`, state: 'succeeded', createdAt: old, finishedAt: old },
        // Unfinished tasks are never purged (an unregistered type, so nothing here runs it).
        { type: `${T}.history`, state: 'queued', createdAt: old },
        { type: `${T}.history`, state: 'failed', finishedAt: new Date() },
      ])
      .returning({ id: tasks.id });

    const viewerTry = await t.app.inject({
      method: 'POST',
      url: '/api/v1/tasks/purge',
      headers: owner.headers,
      payload: { older_than_days: 30 },
    });
    assert.equal(viewerTry.statusCode, 403);

    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/tasks/purge',
      headers: admin.headers,
      payload: { older_than_days: 30 },
    });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(res.json().type, 'maintenance.purge');
    const id = res.json().id as string;
    const done = await waitFor('the purge', async () => {
      const r = (await get(id, admin)).json();
      return r.state !== 'queued' && r.state !== 'running' && r;
    });
    assert.equal(done.state, 'succeeded', done.error);
    assert.equal(done.result.older_than_days, 30);
    assert.ok(done.result.predictions_deleted >= 1);
    assert.ok(done.result.tasks_deleted >= 1);

    const left = await t.ctx.db
      .select({ id: predictions.id })
      .from(predictions)
      .where(inArray(predictions.id, [oldPrediction!.id, newPrediction!.id]));
    assert.deepEqual(
      left.map((r) => r.id),
      [newPrediction!.id],
    );
    const kept = await t.ctx.db
      .select({ id: tasks.id })
      .from(tasks)
      .where(inArray(tasks.id, [oldTask!.id, oldQueued!.id, newTask!.id]));
    assert.deepEqual(kept.map((r) => r.id).sort(), [oldQueued!.id, newTask!.id].sort());
    await t.ctx.db.delete(tasks).where(eq(tasks.id, oldQueued!.id));
  });

  test('a bad payload fails at once', async () => {
    const task = await t.ctx.tasks.create({
      type: 'maintenance.purge',
      payload: { older_than_days: -1 },
      userId: null,
    });
    const done = await waitFor('the purge to fail', async () => {
      const r = await t.ctx.tasks.get(task.id);
      return r?.state === 'failed' && r;
    });
    assert.match(done.error ?? '', /older_than_days/);
    assert.equal(done.attempts, 1);
  });
});

describe('recovery and shutdown', () => {
  test('a task left running by a crashed process runs again at the next start', async () => {
    const dataDir = freshDataDir();
    const type = `${T}.recover`;
    let ran = 0;
    const recoverHandlers: Record<string, TaskHandler> = {
      [type]: async (payload, ctx) => {
        ran += 1;
        return { recovered: payload.n, attempt: ctx.attempt };
      },
    };
    // The "crashed" process: its rows say running and queued, but no queue holds their jobs.
    const first = await startTestApp({ dataDir, overrides, context: { runTasks: false } });
    const [crashed, queued] = await first.ctx.db
      .insert(tasks)
      .values([
        { type, state: 'running', attempts: 1, startedAt: new Date(), payload: { n: 1 } },
        { type, state: 'queued', payload: { n: 2 } },
      ])
      .returning();
    await first.close();

    const second = await startTestApp({
      dataDir,
      overrides,
      context: { taskHandlers: recoverHandlers },
    });
    try {
      for (const [row, n] of [
        [crashed!, 1],
        [queued!, 2],
      ] as const) {
        const done = await waitFor('the recovered task', async () => {
          const r = await second.ctx.tasks.get(row.id);
          return r?.state === 'succeeded' && r;
        });
        assert.deepEqual(done.result, { recovered: n, attempt: n === 1 ? 2 : 1 });
      }
      assert.equal(ran, 2);
    } finally {
      await second.close();
    }
  });

  test('stopping returns a running task to the queue; the next start finishes it', async () => {
    const dataDir = freshDataDir();
    const type = `${T}.long`;
    const starts: number[] = [];
    const longHandlers: Record<string, TaskHandler> = {
      [type]: async (_payload, ctx) => {
        starts.push(ctx.attempt);
        if (starts.length === 1) await untilOpenOrAborted(gate(), ctx);
        return { attempt: ctx.attempt };
      },
    };
    const stopping = { ...overrides, WORKER_SHUTDOWN_TIMEOUT_MS: '200' };
    const first = await startTestApp({
      dataDir,
      overrides: stopping,
      context: { taskHandlers: longHandlers },
    });
    const task = await first.ctx.tasks.create({ type, payload: {}, userId: null });
    await waitFor('the run', async () => (await first.ctx.tasks.get(task.id))?.state === 'running');
    await first.ctx.taskRunner.stop();
    const returned = await first.ctx.tasks.get(task.id);
    assert.equal(returned?.state, 'queued');
    assert.equal(returned?.attempts, 0, 'the interrupted run does not use up an attempt');
    await first.close();

    const second = await startTestApp({
      dataDir,
      overrides,
      context: { taskHandlers: longHandlers },
    });
    try {
      const done = await waitFor('the returned task', async () => {
        const r = await second.ctx.tasks.get(task.id);
        return r?.state === 'succeeded' && r;
      });
      assert.deepEqual(done.result, { attempt: 1 });
      assert.deepEqual(starts, [1, 1]);
    } finally {
      await second.close();
    }
  });
});
