import type { Logger } from '../../logger.ts';
import type { KeptImages } from './kept-images.ts';

const HOUR_MS = 3_600_000;

/** Deletes kept images older than the retention period: once at start, then every interval. */
export class ImageRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    private readonly images: KeptImages,
    private readonly days: number,
    private readonly logger: Logger,
    private readonly intervalMs = HOUR_MS,
  ) {}

  start(): void {
    if (this.timer) return;
    void this.runOnce();
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One purge (a second call while one runs joins it); resolves to the images deleted. */
  runOnce(): Promise<number> {
    this.running ??= this.images
      .purge(new Date(Date.now() - this.days * 86_400_000))
      .then(
        (removed) => {
          if (removed)
            this.logger.info({ removed, days: this.days }, 'expired kept images deleted');
          return removed;
        },
        (err: unknown) => {
          this.logger.warn({ err }, 'purging expired kept images failed; retrying next hour');
          return 0;
        },
      )
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
