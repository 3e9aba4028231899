// The API only: the SDK (otel-sdk.ts) is loaded when tracing is switched on.
import { INVALID_SPAN_CONTEXT, type Span, SpanStatusCode, trace } from '@opentelemetry/api';

/** Every span of the platform comes from this tracer; without a started SDK it records nothing. */
export const tracer = trace.getTracer('aquaml');

let active = false;

/** True while an OpenTelemetry SDK runs in this process (see otel-sdk.ts). */
export function tracingActive(): boolean {
  return active;
}

/** Called by otel-sdk.ts only. */
export function setTracingActive(on: boolean): void {
  active = on;
}

/**
 * Runs `fn` inside a child span of the active one (`root`: a trace of its own, for background work
 * that a request only scheduled); the span records a thrown error.
 */
export async function inSpan<T>(
  name: string,
  attributes: Record<string, string | number | boolean>,
  fn: (span: Span) => Promise<T>,
  options: { root?: boolean } = {},
): Promise<T> {
  if (!active) return fn(trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
  return tracer.startActiveSpan(name, { attributes, root: options.root }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The ids pino adds to each line written inside a span (empty outside one). */
export function traceIds(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
