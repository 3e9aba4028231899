import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Prometheus metrics of one process. Each context owns its registry, so tests stay isolated. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly inferenceDuration: Histogram<'model' | 'version'>;
  readonly queueWait: Histogram<'model' | 'version'>;
  readonly batchSize: Histogram<'model' | 'version'>;
  readonly predictions: Counter<'model' | 'version' | 'status'>;
  readonly cache: Counter<'result'>;
  readonly shadowAgreement: Counter<'model' | 'version' | 'agree'>;
  readonly rejected: Counter<'model' | 'version'>;
  readonly taskQueueDepth: Gauge<'state'>;
  readonly drift: Gauge<'model' | 'version' | 'signal'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: 'aquaml_' });
    const r = [this.registry];
    this.httpDuration = new Histogram({
      name: 'aquaml_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers: r,
    });
    this.inferenceDuration = new Histogram({
      name: 'aquaml_inference_duration_seconds',
      help: 'Time from image received to prediction, per model version',
      labelNames: ['model', 'version'],
      buckets: LATENCY_BUCKETS,
      registers: r,
    });
    this.queueWait = new Histogram({
      name: 'aquaml_batch_queue_wait_seconds',
      help: 'Time a request waited in the dynamic batcher',
      labelNames: ['model', 'version'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
      registers: r,
    });
    this.batchSize = new Histogram({
      name: 'aquaml_batch_size',
      help: 'Images per backbone pass',
      labelNames: ['model', 'version'],
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: r,
    });
    this.predictions = new Counter({
      name: 'aquaml_predictions_total',
      help: 'Predictions by model version and status (ok, unknown, error)',
      labelNames: ['model', 'version', 'status'],
      registers: r,
    });
    this.cache = new Counter({
      name: 'aquaml_prediction_cache_total',
      help: 'Prediction cache lookups by result (hit, miss)',
      labelNames: ['result'],
      registers: r,
    });
    this.shadowAgreement = new Counter({
      name: 'aquaml_shadow_comparisons_total',
      help: 'Shadow runs compared with the answer returned, by agreement',
      labelNames: ['model', 'version', 'agree'],
      registers: r,
    });
    this.rejected = new Counter({
      name: 'aquaml_inference_rejected_total',
      help: 'Requests refused because the batch queue was full',
      labelNames: ['model', 'version'],
      registers: r,
    });
    this.taskQueueDepth = new Gauge({
      name: 'aquaml_task_queue_depth',
      help: 'Jobs in the task queue by state (for queue-depth autoscaling)',
      labelNames: ['state'],
      registers: r,
    });
    this.drift = new Gauge({
      name: 'aquaml_model_drift_psi',
      help: 'Population stability index of recent traffic against the training reference',
      labelNames: ['model', 'version', 'signal'],
      registers: r,
    });
  }
}
