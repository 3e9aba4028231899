import { context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { setTracingActive, tracingActive } from './tracing.ts';

export interface TracingSettings {
  /** OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT); spans go to `<endpoint>/v1/traces`. */
  endpoint: string;
  serviceName: string;
  serviceVersion: string;
  role: string;
}

/**
 * Starts the OpenTelemetry SDK for this process (once; later calls share the first). Spans are
 * created by the platform's own code (HTTP, decode, batch, database, queue), so no
 * auto-instrumentation patches modules. Returns the stop function that flushes pending spans.
 */
export function startTracing(settings: TracingSettings): () => Promise<void> {
  if (tracingActive()) return async () => {};
  const url = `${settings.endpoint.replace(/\/+$/, '')}/v1/traces`;
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      'service.name': settings.serviceName,
      'service.version': settings.serviceVersion,
      'aquaml.role': settings.role,
    }),
    serviceName: settings.serviceName,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
    // Traces only: metrics are Prometheus' (/metrics), logs are pino's JSON lines on stdout.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  setTracingActive(true);
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    setTracingActive(false);
    await sdk.shutdown();
    // Leave the process as before start, so a later context (tests) can start tracing again.
    trace.disable();
    context.disable();
    propagation.disable();
  };
}
