import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler
} from "@opentelemetry/sdk-trace-base"
import type { TraceExport } from "../domain/TraceSettings.js"

/** The OpenTelemetry SDK's side of tracing, loaded only when tracing is on (see TracingLive). */

const samplerOf = (traces: TraceExport): Sampler => {
  const root: Sampler =
    traces.ratio >= 1
      ? new AlwaysOnSampler()
      : traces.ratio <= 0
        ? new AlwaysOffSampler()
        : new TraceIdRatioBasedSampler(traces.ratio)
  return traces.parentBased ? new ParentBasedSampler({ root }) : root
}

/** Spans batched and sent as OTLP/HTTP JSON; the queue is flushed when the server stops. */
export const exportLayer = (traces: TraceExport) =>
  NodeSdk.layer(() => ({
    resource: { serviceName: traces.serviceName },
    spanProcessor: new BatchSpanProcessor(new OTLPTraceExporter({ url: traces.url })),
    tracerConfig: { sampler: samplerOf(traces) }
  }))
