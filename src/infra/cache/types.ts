/** A small key-value cache with expiry (prediction results keyed by image hash + model version). */
export interface KeyValueCache<T> {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<T | undefined>;
  set(key: string, value: T): Promise<void>;
}
