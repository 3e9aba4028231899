// Worker processes on real BullMQ (REDIS_URL) and PostgreSQL (DATABASE_URL; PGlite is
// single-process): a worker killed mid-job has its job picked up again by another, stopped
// workers finish or return their job, and every result is stored exactly once.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { TaskRow } from '../../src/modules/tasks/schema.ts';
import { signedInUser, startTestApp, type TestApp, unique } from '../support/app.ts';
import { createRunsTable } from '../support/task-worker.ts';
import { sleep, waitFor } from './helpers.ts';
import { suite } from '../support/suite.ts';

const missing = ['DATABASE_URL', 'REDIS_URL'].filter((name) => !process.env[name]);
const skip = missing.length
  ? `set ${missing.join(' and ')} to run the cross-process worker tests (they need PostgreSQL, ` +
    'as PGlite is single-process, and Redis for BullMQ)'
  : false;

const WORKER_SCRIPT = resolve(import.meta.dirname, '../support/task-worker.ts');
const LOCK_MS = 2_000;
const TYPE = `test.slow.${unique('w')}`;

interface Worker {
  child: ChildProcess;
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

interface Run {
  pid: number;
  attempt: number;
  event: string;
}

suite('worker processes (BullMQ on Redis, PostgreSQL)', { skip }, () => {
  let t: TestApp;
  let prefix: string;
  const children = new Set<ChildProcess>();
  const dataDir = mkdtempSync(join(tmpdir(), 'aquaml-workers-'));

  before(async () => {
    prefix = unique('wk');
    // This process only creates and reads tasks (api role): the spawned workers run them.
    t = await startTestApp({
      role: 'api',
      overrides: { AQUAML_REDIS_PREFIX: prefix, AQUAML_QUEUE_LOCK_DURATION_MS: String(LOCK_MS) },
      context: {
        taskHandlers: {
          [TYPE]: async () => {
            throw new Error('this type runs in the worker processes');
          },
        },
      },
    });
    await createRunsTable(t.ctx.db);
    // Counts every write to a finished task of this test: storing a result twice shows up as 2.
    await t.ctx.db.execute(sql`CREATE TABLE IF NOT EXISTS test_task_final_writes (
      task_id uuid NOT NULL, state text NOT NULL, at timestamptz NOT NULL DEFAULT now())`);
    await t.ctx.db.execute(sql`CREATE OR REPLACE FUNCTION test_task_final_write() RETURNS trigger
      LANGUAGE plpgsql AS $$ BEGIN
        INSERT INTO test_task_final_writes (task_id, state) VALUES (NEW.id, NEW.state);
        RETURN NEW;
      END $$`);
    await t.ctx.db.execute(sql`CREATE OR REPLACE TRIGGER test_task_final_write
      AFTER UPDATE ON tasks FOR EACH ROW
      WHEN (NEW.type LIKE 'test.slow.%' AND NEW.state IN ('succeeded', 'failed', 'cancelled'))
      EXECUTE FUNCTION test_task_final_write()`);
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await t?.ctx.db.execute(sql`DROP TRIGGER IF EXISTS test_task_final_write ON tasks`);
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function startWorker(env: Record<string, string> = {}): Promise<Worker> {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT], {
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        AQUAML_DATA_DIR: dataDir,
        // The test app's own database (startTestApp isolates each app on PostgreSQL).
        DATABASE_URL: t.config.databaseUrl!,
        AQUAML_REDIS_PREFIX: prefix,
        AQUAML_QUEUE_LOCK_DURATION_MS: String(LOCK_MS),
        TEST_TASK_TYPE: TYPE,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
      child.once('exit', (code, signal) => r({ code, signal })),
    );
    await Promise.race([
      waitFor('the worker to be ready', async () => /^ready$/m.test(out), 60_000, 50),
      exited.then(({ code }) => {
        throw new Error(`worker exited with ${code} before it was ready:\n${out}`);
      }),
    ]);
    return { child, pid: child.pid!, exited, output: () => out };
  }

  const adminToken = async () => (await signedInUser(t, 'admin')).token;

  const create = (steps: number, stepMs: number) =>
    t.ctx.tasks.create({ type: TYPE, payload: { steps, step_ms: stepMs }, userId: null });

  async function runsOf(id: string): Promise<Run[]> {
    const res = await t.ctx.db.execute(
      sql`SELECT pid, attempt, event FROM test_task_runs WHERE task_id = ${id}::uuid ORDER BY at`,
    );
    return (res as unknown as { rows: Run[] }).rows;
  }

  async function finalWrites(id: string): Promise<number> {
    const res = await t.ctx.db.execute(
      sql`SELECT count(*)::int AS n FROM test_task_final_writes WHERE task_id = ${id}::uuid`,
    );
    return (res as unknown as { rows: { n: number }[] }).rows[0]!.n;
  }

  const startedBy = (id: string, pids?: number[]) =>
    waitFor(
      'a worker to start the task',
      async () => {
        const runs = (await runsOf(id)).filter((r) => r.event === 'started');
        const run = runs.find((r) => !pids || pids.includes(r.pid));
        return run ?? false;
      },
      30_000,
    );

  const finished = (id: string, timeoutMs = 60_000) =>
    waitFor(
      'the task to finish',
      async () => {
        const task = await t.ctx.tasks.get(id);
        return task && task.state !== 'queued' && task.state !== 'running' && task;
      },
      timeoutMs,
      100,
    );

  async function stop(worker: Worker): Promise<void> {
    if (worker.child.exitCode !== null) return;
    worker.child.kill('SIGTERM');
    const { code } = await worker.exited;
    assert.equal(code, 0, worker.output());
  }

  test('a worker killed mid-job: another picks the job up, the result is stored once', async () => {
    const first = await startWorker();
    const task = await create(10, 200);
    await startedBy(task.id, [first.pid]);
    await sleep(500);
    first.child.kill('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');

    const second = await startWorker();
    const done: TaskRow = await finished(task.id);
    assert.equal(done.state, 'succeeded', done.error ?? '');
    assert.deepEqual(done.result, { pid: second.pid, attempt: 2, steps: 10 });
    assert.equal(done.attempts, 2);

    const runs = await runsOf(task.id);
    // The killed run started and never finished; the second run did the whole job again.
    assert.deepEqual(
      runs.map((r) => [r.pid, r.event]),
      [
        [first.pid, 'started'],
        [second.pid, 'started'],
        [second.pid, 'finished'],
      ],
    );
    await sleep(LOCK_MS);
    assert.equal(await finalWrites(task.id), 1);
    await stop(second);
  });

  test('SIGTERM mid-job: the worker finishes the job, then exits 0', async () => {
    const worker = await startWorker();
    const task = await create(8, 250);
    await startedBy(task.id, [worker.pid]);
    await sleep(300);
    worker.child.kill('SIGTERM');
    const { code } = await worker.exited;
    assert.equal(code, 0, worker.output());

    // Finished before the process exited.
    const done = await t.ctx.tasks.get(task.id);
    assert.equal(done?.state, 'succeeded', worker.output());
    assert.deepEqual(done?.result, { pid: worker.pid, attempt: 1, steps: 8 });
    assert.deepEqual(
      (await runsOf(task.id)).map((r) => r.event),
      ['started', 'finished'],
    );
    assert.equal(await finalWrites(task.id), 1);
  });

  test('SIGTERM past the shutdown timeout: the job goes back to the queue, nothing is lost', async () => {
    const worker = await startWorker({ WORKER_SHUTDOWN_TIMEOUT_MS: '300' });
    const task = await create(15, 150);
    await startedBy(task.id, [worker.pid]);
    worker.child.kill('SIGTERM');
    const { code } = await worker.exited;
    assert.equal(code, 0, worker.output());

    const returned = await t.ctx.tasks.get(task.id);
    assert.equal(returned?.state, 'queued');
    assert.equal(returned?.attempts, 0, 'the interrupted run gave its attempt back');
    assert.equal((await t.ctx.queue.depth()).waiting, 1, 'the job is waiting, not stalled');

    const next = await startWorker();
    const done = await finished(task.id);
    assert.equal(done.state, 'succeeded', done.error ?? '');
    assert.deepEqual(done.result, { pid: next.pid, attempt: 1, steps: 15 });
    assert.deepEqual(
      (await runsOf(task.id)).map((r) => [r.pid, r.event]),
      [
        [worker.pid, 'started'],
        [worker.pid, 'aborted: shutting down'],
        [next.pid, 'started'],
        [next.pid, 'finished'],
      ],
    );
    assert.equal(await finalWrites(task.id), 1);
    await stop(next);
  });

  test('cancelling reaches the worker process running the task at once (event bus)', async () => {
    const worker = await startWorker();
    // Long steps: no progress report (and no cancellation poll) before the bus message arrives.
    const task = await create(2, 8_000);
    await startedBy(task.id, [worker.pid]);
    const requested = Date.now();
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/tasks/${task.id}`,
      headers: { authorization: `Bearer ${await adminToken()}` },
    });
    assert.equal(res.statusCode, 202, res.body);
    const done = await finished(task.id, 10_000);
    assert.equal(done.state, 'cancelled');
    assert.ok(Date.now() - requested < 3_000, `cancelled after ${Date.now() - requested} ms`);
    assert.deepEqual(
      (await runsOf(task.id)).map((r) => r.event),
      ['started', 'aborted: cancelled'],
    );
    assert.equal(await finalWrites(task.id), 1);
    await stop(worker);
  });

  test('a worker frozen past its lock comes back: its late result is not stored', async () => {
    const a = await startWorker();
    const b = await startWorker();
    const task = await create(12, 250);
    const run = await startedBy(task.id);
    const [frozen, other] = run.pid === a.pid ? [a, b] : [b, a];
    frozen.child.kill('SIGSTOP');
    try {
      const done = await finished(task.id);
      assert.equal(done.state, 'succeeded', done.error ?? '');
      assert.deepEqual(done.result, { pid: other.pid, attempt: 2, steps: 12 });
    } finally {
      frozen.child.kill('SIGCONT');
    }
    // The frozen run wakes up, finds the task taken over at its next progress report, and stops.
    await waitFor(
      'the frozen run to give up',
      async () =>
        (await runsOf(task.id)).some(
          (r) => r.pid === frozen.pid && r.event === 'aborted: superseded',
        ),
      15_000,
    );
    const final = await t.ctx.tasks.get(task.id);
    assert.deepEqual(final?.result, { pid: other.pid, attempt: 2, steps: 12 });
    assert.equal(await finalWrites(task.id), 1);
    await Promise.all([stop(a), stop(b)]);
  });
});
