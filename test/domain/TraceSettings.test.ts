import { describe, expect, it } from "vitest"
import { traceExportOf, traceProblems } from "../../src/domain/TraceSettings.js"
import { problemsOf, settingsOf } from "../support/ConfigFiles.js"

const keys = { enabled: false, service_name: "pondpilot-proxy", sample_ratio: 1 }

describe("tracing settings", () => {
  it("is off by default, and with OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true", () => {
    expect(settingsOf("").traces).toBeUndefined()
    expect(traceExportOf(keys, {})).toBeUndefined()
    expect(traceExportOf({ ...keys, enabled: true }, { OTEL_TRACES_EXPORTER: "none" })).toBeUndefined()
    expect(
      traceExportOf(keys, { OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" })
    ).toBeUndefined()
  })

  it("turns on with tracing.enabled, sending to the default collector or tracing.endpoint", () => {
    expect(settingsOf("tracing:\n  enabled: true").traces).toEqual({
      url: "http://localhost:4318/v1/traces",
      serviceName: "pondpilot-proxy",
      parentBased: true,
      ratio: 1
    })
    expect(
      settingsOf("tracing:\n  enabled: true\n  endpoint: http://otel:4318/\n  sample_ratio: 0.25").traces
    ).toMatchObject({ url: "http://otel:4318/v1/traces", ratio: 0.25 })
  })

  it("turns on with the standard variables, which win over the config keys", () => {
    expect(traceExportOf(keys, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })?.url).toBe(
      "http://collector:4318/v1/traces"
    )
    expect(traceExportOf(keys, { OTEL_TRACES_EXPORTER: "otlp" })?.url).toBe("http://localhost:4318/v1/traces")
    expect(
      traceExportOf(
        { ...keys, enabled: true, endpoint: "http://from-config:4318", service_name: "from-config" },
        {
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://traces.example/otlp/v1/traces",
          OTEL_SERVICE_NAME: "from-env",
          OTEL_TRACES_SAMPLER: "traceidratio",
          OTEL_TRACES_SAMPLER_ARG: "0.1"
        }
      )
    ).toEqual({
      url: "https://traces.example/otlp/v1/traces",
      serviceName: "from-env",
      parentBased: false,
      ratio: 0.1
    })
    expect(
      traceExportOf(keys, { OTEL_TRACES_EXPORTER: "otlp", OTEL_TRACES_SAMPLER: "always_off" })
    ).toMatchObject({
      parentBased: false,
      ratio: 0
    })
  })

  it("refuses what it cannot do, in the config's words", () => {
    const wrong = {
      OTEL_TRACES_SAMPLER: "sometimes",
      OTEL_TRACES_SAMPLER_ARG: "2",
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc"
    }
    expect(traceProblems({ ...keys, enabled: true }, { ...wrong, OTEL_TRACES_EXPORTER: "zipkin" })).toEqual([
      "OTEL_TRACES_EXPORTER: expected otlp or none (spans are exported over OTLP/HTTP only)",
      "OTEL_TRACES_SAMPLER: expected one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio",
      "OTEL_TRACES_SAMPLER_ARG: expected a number from 0 to 1",
      "OTEL_EXPORTER_OTLP_PROTOCOL: expected http/json (the only protocol this server sends)"
    ])
    // Meant for other processes while this one's tracing is off.
    expect(traceProblems(keys, wrong)).toEqual([])
    expect(problemsOf("", { OTEL_TRACES_EXPORTER: "jaeger" })).toEqual([
      "OTEL_TRACES_EXPORTER: expected otlp or none (spans are exported over OTLP/HTTP only)"
    ])
    expect(problemsOf("tracing:\n  sample_ratio: 2\n  enabled: maybe")).toEqual([
      "tracing.enabled: expected true or false",
      "tracing.sample_ratio: expected a number from 0 to 1"
    ])
  })
})
