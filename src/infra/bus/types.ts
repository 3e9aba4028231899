export type BusHandler<T = unknown> = (message: T) => void | Promise<void>;

export interface SubscribeOptions {
  /**
   * With a group, each message goes to one subscriber of the group (work sharing, acknowledged
   * after the handler succeeds); without, every subscriber in every process gets it (broadcast).
   */
  group?: string;
  /**
   * Group subscribers: how many messages of one read the handler may work on at once (default 1,
   * one after the other). Lets a handler gather many messages into one unit of work.
   */
  concurrency?: number;
}

/** Publish/subscribe between the parts of AquaML, within one process or across processes. */
export interface EventBus {
  readonly kind: 'memory' | 'redis-streams';
  publish<T>(topic: string, message: T): Promise<void>;
  subscribe<T>(
    topic: string,
    handler: BusHandler<T>,
    options?: SubscribeOptions,
  ): Promise<() => void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
