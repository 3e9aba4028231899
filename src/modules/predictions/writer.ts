import type { Database } from '../../db/client.ts';
import { predictions } from '../../db/schema.ts';
import type { Logger } from '../../logger.ts';

export type PredictionInsert = typeof predictions.$inferInsert;

/**
 * Prediction rows are written in batches (one multi-row INSERT per interval) so the hot path
 * never waits on the database. Shutdown flushes what is buffered.
 */
export class PredictionWriter {
  private buffer: PredictionInsert[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    private readonly intervalMs = 50,
    private readonly maxBuffered = 50_000,
  ) {}

  enqueue(row: PredictionInsert): void {
    if (this.buffer.length >= this.maxBuffered) {
      // The database is down or far behind: keep memory bounded and say so.
      this.buffer.shift();
      this.logger.error('prediction buffer full; dropped the oldest unsaved prediction');
    }
    this.buffer.push(row);
    if (this.buffer.length >= 500) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.intervalMs);
  }

  /** Writes everything buffered so far; resolves when it is stored. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.buffer;
    this.buffer = [];
    this.flushing = this.flushing.then(async () => {
      for (let i = 0; i < rows.length; i += 1000) {
        const chunk = rows.slice(i, i + 1000);
        try {
          await this.db.insert(predictions).values(chunk).onConflictDoNothing();
        } catch (err) {
          this.logger.error({ err, rows: chunk.length }, 'storing predictions failed; will retry');
          this.buffer.unshift(...chunk);
          this.timer ??= setTimeout(() => void this.flush(), 1_000);
        }
      }
    });
    return this.flushing;
  }

  get pending(): number {
    return this.buffer.length;
  }
}
