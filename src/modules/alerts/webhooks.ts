import { createHmac } from 'node:crypto';
import type { Logger } from '../../logger.ts';

export interface WebhookOptions {
  urls: readonly string[];
  /** HMAC-SHA256 key; receivers recompute the signature to trust the sender. */
  secret: string;
  /** Attempts per delivery (the first included); waits double from `backoffMs`. */
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
}

/**
 * The signature a receiver checks: `sha256=` + hex HMAC-SHA256 of `<timestamp>.<body>` with the
 * shared secret, the timestamp being the `X-AquaML-Timestamp` header (Unix seconds) so a captured
 * delivery cannot be replayed later under a fresh time.
 */
export function signPayload(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Posts alert events to the configured URLs, signed, retried with backoff, off the caller's path. */
export class WebhookNotifier {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly options: WebhookOptions,
    private readonly logger: Logger,
    private readonly onDelivered?: (url: string, event: string, alertId: string) => void,
  ) {}

  get enabled(): boolean {
    return this.options.urls.length > 0;
  }

  notify(event: string, alertId: string, payload: unknown): void {
    for (const url of this.options.urls) {
      const p = this.deliver(url, event, alertId, payload).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }
  }

  private async deliver(url: string, event: string, alertId: string, payload: unknown) {
    const body = JSON.stringify({ event, alert: payload });
    for (let attempt = 1; attempt <= this.options.attempts; attempt++) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'aquaml-webhook',
            'x-aquaml-event': event,
            'x-aquaml-delivery-attempt': String(attempt),
            'x-aquaml-timestamp': timestamp,
            'x-aquaml-signature': signPayload(this.options.secret, timestamp, body),
          },
          body,
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
        await res.body?.cancel();
        if (res.ok) {
          this.onDelivered?.(url, event, alertId);
          return;
        }
        // A 4xx other than 408/429 will not get better by retrying.
        if (res.status < 500 && res.status !== 408 && res.status !== 429) {
          this.logger.warn({ url, status: res.status, event }, 'webhook refused');
          return;
        }
        this.logger.warn({ url, status: res.status, attempt }, 'webhook failed; retrying');
      } catch (err) {
        this.logger.warn({ url, err: (err as Error).message, attempt }, 'webhook failed; retrying');
      }
      if (attempt < this.options.attempts) {
        await new Promise((r) => setTimeout(r, this.options.backoffMs * 2 ** (attempt - 1)));
      }
    }
    this.logger.error({ url, event, alertId }, 'webhook gave up');
  }

  /** Waits for deliveries under way (shutdown, tests). */
  async drain(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }
}
