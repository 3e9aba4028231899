import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Prometheus metrics of one process. Each context owns its registry, so tests stay isolated. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  /** `cached` keeps cache answers (microseconds) apart from real inference latency. */
  readonly inferenceDuration: Histogram<'model' | 'version' | 'cached'>;
  readonly queueWait: Histogram<'model' | 'version'>;
  readonly batchSize: Histogram<'model' | 'version'>;
  readonly predictions: Counter<'model' | 'version' | 'status'>;
  readonly cache: Counter<'result'>;
  readonly shadowAgreement: Counter<'model' | 'version' | 'agree'>;
  readonly rejected: Counter<'model' | 'version'>;
  readonly taskQueueDepth: Gauge<'state'>;
  readonly drift: Gauge<'model' | 'version' | 'signal'>;
  readonly batchQueueDepth: Gauge<'model' | 'version'>;
  readonly batchInFlight: Gauge<'model' | 'version'>;
  readonly batchQueueCapacity: Gauge<'model' | 'version'>;
  readonly modelInfo: Gauge<'model' | 'version' | 'aliases'>;
  readonly feedbackAccuracy: Gauge<'model' | 'version'>;
  readonly validationAccuracy: Gauge<'model' | 'version'>;
  readonly alertsOpen: Gauge<'severity'>;
  readonly readingsIngested: Counter;
  readonly readingsRejected: Counter<'reason'>;

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
      help: 'Time from image received to prediction, per model version; cached="true" are cache answers',
      labelNames: ['model', 'version', 'cached'],
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
    this.batchQueueDepth = new Gauge({
      name: 'aquaml_batch_queue_depth',
      help: 'Requests waiting in the dynamic batcher of a model version (saturation: AQUAML_MAX_QUEUE_SIZE)',
      labelNames: ['model', 'version'],
      registers: r,
    });
    this.batchQueueCapacity = new Gauge({
      name: 'aquaml_batch_queue_capacity',
      help: 'Requests the dynamic batcher of a model version holds before it answers 503',
      labelNames: ['model', 'version'],
      registers: r,
    });
    this.batchInFlight = new Gauge({
      name: 'aquaml_batch_in_flight',
      help: 'Batches of a model version running in the inference engine',
      labelNames: ['model', 'version'],
      registers: r,
    });
    this.modelInfo = new Gauge({
      name: 'aquaml_model_info',
      help: '1 for each model version loaded in this process; aliases lists its registry aliases (champion, challenger)',
      labelNames: ['model', 'version', 'aliases'],
      registers: r,
    });
    this.feedbackAccuracy = new Gauge({
      name: 'aquaml_model_feedback_accuracy',
      help: 'Rolling accuracy of a model version on operator feedback (AQUAML_FEEDBACK_WINDOW_DAYS)',
      labelNames: ['model', 'version'],
      registers: r,
    });
    this.validationAccuracy = new Gauge({
      name: 'aquaml_model_validation_accuracy',
      help: 'Validation accuracy of a model version, from its manifest',
      labelNames: ['model', 'version'],
      registers: r,
    });
    this.alertsOpen = new Gauge({
      name: 'aquaml_alerts_open',
      help: 'Alerts not yet resolved, by severity',
      labelNames: ['severity'],
      registers: r,
    });
    this.readingsIngested = new Counter({
      name: 'aquaml_readings_ingested_total',
      help: 'Sensor readings accepted and stored',
      registers: r,
    });
    this.readingsRejected = new Counter({
      name: 'aquaml_readings_rejected_total',
      help: 'Sensor readings refused, by reason',
      labelNames: ['reason'],
      registers: r,
    });
  }
}
