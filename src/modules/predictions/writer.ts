import { eq } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { predictions } from '../../db/schema.ts';
import type { Logger } from '../../logger.ts';
import { inSpan } from '../../observability/tracing.ts';
import type { Classification, PredictionSink } from '../../serving/classification.ts';
import type { ShadowOutcome } from '../../serving/shadow.ts';
import { type PredictionInsert, predictionRow } from './record.ts';

/** The prediction could not be stored, so it is not answered: the client may retry. */
export class PredictionStoreError extends Error {
  constructor(cause: unknown) {
    super('The prediction could not be stored; try again shortly', { cause });
    this.name = 'PredictionStoreError';
  }
}

interface Waiting {
  row: PredictionInsert;
  done: (err?: unknown) => void;
}

/** Rows per INSERT statement. */
const MAX_ROWS = 1000;

/**
 * Stores prediction rows before they are answered, with group commit: while one multi-row INSERT
 * is in flight, the rows of requests arriving meanwhile gather and go together in the next one,
 * and each request waits for the commit of its own batch. One request alone pays one round
 * trip; many concurrent ones share a statement, so throughput holds.
 */
export class PredictionWriter implements PredictionSink {
  private waiting: Waiting[] = [];
  private inFlight: Promise<void> | undefined;
  /** Shadow results still to be added to rows already answered. */
  private readonly followUps = new Set<Promise<void>>();

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {}

  /** Stores a classified image (the serving pipeline's sink); see `write`. */
  store(classification: Classification): Promise<void> {
    return this.write(predictionRow(classification));
  }

  /** Resolves once the row is committed; rejects with PredictionStoreError when it is not. */
  write(row: PredictionInsert): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ row, done: (err) => (err ? reject(err) : resolve()) });
      this.inFlight ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    // Rows that arrive during this turn join the first statement.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.waiting.length) {
      const batch = this.waiting.splice(0, MAX_ROWS);
      try {
        await inSpan(
          'predictions.store',
          { rows: batch.length },
          async () => {
            await this.db
              .insert(predictions)
              .values(batch.map((w) => w.row))
              .onConflictDoNothing();
          },
          { root: true },
        );
        for (const w of batch) w.done();
      } catch (err) {
        if (batch.length > 1) {
          // One bad row (a user deleted meanwhile) must not fail the others: one by one.
          for (const w of batch) await this.insertOne(w);
        } else {
          this.fail(batch[0]!, err);
        }
      }
    }
    this.inFlight = undefined;
  }

  private async insertOne(w: Waiting): Promise<void> {
    try {
      await this.db.insert(predictions).values(w.row).onConflictDoNothing();
      w.done();
    } catch (err) {
      this.fail(w, err);
    }
  }

  private fail(w: Waiting, err: unknown): void {
    this.logger.error({ err, prediction: w.row.id }, 'storing a prediction failed');
    w.done(new PredictionStoreError(err));
  }

  /**
   * Adds the shadow version's answer to a stored prediction once both are there. Best effort:
   * the champion's answer is already durable and answered.
   */
  storeShadow(id: string, stored: Promise<void>, outcome: Promise<ShadowOutcome>): void {
    const work = Promise.all([stored, outcome])
      .then(([, shadow]) =>
        this.db.update(predictions).set({ shadow }).where(eq(predictions.id, id)),
      )
      .then(
        () => undefined,
        (err: unknown) => this.logger.warn({ err, prediction: id }, 'shadow result not stored'),
      )
      .finally(() => this.followUps.delete(work));
    this.followUps.add(work);
  }

  /** Resolves when every row and shadow result handed over so far is written (or failed). */
  async flush(): Promise<void> {
    while (this.inFlight || this.followUps.size) {
      await Promise.all([this.inFlight, ...this.followUps]);
    }
  }

  get pending(): number {
    return this.waiting.length;
  }
}
