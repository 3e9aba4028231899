import type { Database } from '../../db/client.ts';
import type { EventBus } from '../../infra/bus/types.ts';
import type { Logger } from '../../logger.ts';
import { Coalescer } from './coalescer.ts';
import type { Reading } from './reading.ts';
import { insertReadings } from './store.ts';
import type { TelemetryMetrics } from './telemetry-metrics.ts';

/** The bus topic readings travel on, from the doors (HTTP, MQTT) to the writers and the rules. */
export const READINGS_TOPIC = 'telemetry.readings';
const WRITER_GROUP = 'telemetry-writer';

/** One stream entry: readings as rows of [device, unit, farm, metric, ts, value, arrived]. */
interface ReadingsMessage {
  r: [string, string, string, string, number, number, number][];
}

/** A reading with the wall-clock time it reached this platform, for arrival-to-alert latency. */
export interface ArrivedReading extends Reading {
  arrivedAt: number;
}

export type ReadingsListener = (readings: readonly ArrivedReading[]) => void;

export interface PipelineOptions {
  /** Rows per multi-row insert at most. */
  insertBatch: number;
  /** How long a reading may wait for others to share its insert or stream entry. */
  flushMs: number;
  /** Inserts running at once per process. */
  insertConcurrency: number;
}

/**
 * Where accepted readings go. Embedded (in-process bus): straight into batched inserts; submit()
 * resolves once they are stored. With Redis Streams: submit() resolves once the readings are an
 * entry of the stream; the writers of every process share the stream through a consumer group
 * (each entry inserted by one of them, acknowledged after its insert), and every process reads
 * the whole stream for the rules and the live views.
 */
export class TelemetryPipeline {
  private readonly listeners = new Set<ReadingsListener>();
  private readonly writer: Coalescer<ArrivedReading>;
  private readonly publisher: Coalescer<ArrivedReading> | undefined;
  private readonly unsubscribes: (() => void)[] = [];
  readonly durability: 'stored' | 'stream';

  constructor(
    private readonly db: Database,
    private readonly bus: EventBus,
    private readonly metrics: TelemetryMetrics,
    private readonly logger: Logger,
    options: PipelineOptions,
  ) {
    this.durability = bus.kind === 'memory' ? 'stored' : 'stream';
    this.writer = new Coalescer((items) => this.store(items), {
      maxItems: options.insertBatch,
      maxDelayMs: options.flushMs,
      maxInFlight: options.insertConcurrency,
    });
    if (this.durability === 'stream') {
      this.publisher = new Coalescer((items) => this.bus.publish(READINGS_TOPIC, encode(items)), {
        maxItems: options.insertBatch,
        maxDelayMs: options.flushMs,
        maxInFlight: 4,
      });
    }
  }

  /** Starts this process's writer and its view of the stream (scale-out bus only). */
  async start(options: { write: boolean }): Promise<void> {
    if (this.durability !== 'stream') return;
    if (options.write) {
      this.unsubscribes.push(
        await this.bus.subscribe<ReadingsMessage>(
          READINGS_TOPIC,
          (message) => this.writer.add(decode(message)),
          { group: WRITER_GROUP, concurrency: 64 },
        ),
      );
    }
    this.unsubscribes.push(
      await this.bus.subscribe<ReadingsMessage>(READINGS_TOPIC, (message) =>
        this.emit(decode(message)),
      ),
    );
  }

  /** Resolves when the readings are durable: stored (embedded) or on the stream (Redis). */
  async submit(readings: readonly Reading[]): Promise<void> {
    if (readings.length === 0) return;
    const arrivedAt = Date.now();
    const arrived = readings.map((r) => ({ ...r, arrivedAt }));
    await (this.publisher ?? this.writer).add(arrived);
  }

  /** Called with every batch of readings this process sees (after storing, embedded). */
  onReadings(listener: ReadingsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async store(items: ArrivedReading[]): Promise<void> {
    const inserted = await insertReadings(this.db, items);
    this.metrics.stored.inc(inserted);
    this.metrics.written.inc(items.length);
    this.metrics.flushSize.observe(items.length);
    if (this.durability === 'stored') this.emit(items);
  }

  private emit(readings: readonly ArrivedReading[]): void {
    for (const listener of this.listeners) {
      try {
        listener(readings);
      } catch (err) {
        this.logger.error({ err }, 'readings listener failed');
      }
    }
  }

  /** Stops reading the stream and waits for pending writes. */
  async stop(): Promise<void> {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
    await this.publisher?.drain();
    await this.writer.drain();
  }
}

function encode(items: readonly ArrivedReading[]): ReadingsMessage {
  return {
    r: items.map((x) => [x.deviceId, x.unitId, x.farmId, x.metric, x.ts, x.value, x.arrivedAt]),
  };
}

function decode(message: ReadingsMessage): ArrivedReading[] {
  return message.r.map(([deviceId, unitId, farmId, metric, ts, value, arrivedAt]) => ({
    deviceId,
    unitId,
    farmId,
    metric,
    ts,
    value,
    arrivedAt,
  }));
}
