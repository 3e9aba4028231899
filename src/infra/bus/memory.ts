import type { Logger } from '../../logger.ts';
import type { BusHandler, EventBus, SubscribeOptions } from './types.ts';

interface Subscription {
  handler: BusHandler;
  group?: string;
}

/** The embedded bus: delivery inside this process, asynchronously so publishers never wait on handlers. */
export class MemoryEventBus implements EventBus {
  readonly kind = 'memory' as const;
  private readonly topics = new Map<string, Subscription[]>();
  private readonly cursor = new Map<string, number>();

  constructor(private readonly logger: Logger) {}

  async publish<T>(topic: string, message: T): Promise<void> {
    const subs = this.topics.get(topic) ?? [];
    const groups = new Map<string, Subscription[]>();
    for (const s of subs) {
      if (s.group) groups.set(s.group, [...(groups.get(s.group) ?? []), s]);
      else this.deliver(topic, s, message);
    }
    for (const [group, members] of groups) {
      const key = `${topic}\u0000${group}`;
      const next = (this.cursor.get(key) ?? 0) % members.length;
      this.cursor.set(key, next + 1);
      this.deliver(topic, members[next]!, message);
    }
  }

  private deliver(topic: string, sub: Subscription, message: unknown): void {
    queueMicrotask(() => {
      Promise.resolve()
        .then(() => sub.handler(message))
        .catch((err: unknown) => this.logger.error({ err, topic }, 'event handler failed'));
    });
  }

  async subscribe<T>(
    topic: string,
    handler: BusHandler<T>,
    options: SubscribeOptions = {},
  ): Promise<() => void> {
    const sub: Subscription = { handler: handler as BusHandler, group: options.group };
    this.topics.set(topic, [...(this.topics.get(topic) ?? []), sub]);
    return () =>
      this.topics.set(
        topic,
        (this.topics.get(topic) ?? []).filter((s) => s !== sub),
      );
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.topics.clear();
  }
}
