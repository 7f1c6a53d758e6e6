/**
 * Whether and where spans are exported: the `tracing` config keys, overridden by the standard
 * OpenTelemetry variables (an operator's platform usually sets those). Off unless asked for.
 */

export interface TracingKeys {
  readonly enabled: boolean
  readonly endpoint?: string | undefined
  readonly service_name: string
  readonly sample_ratio: number
}

export interface TraceExport {
  /** The OTLP/HTTP traces URL (`…/v1/traces`). */
  readonly url: string
  readonly serviceName: string
  /** Parent-based: a caller's sampled flag is followed, and `ratio` applies to new traces. */
  readonly parentBased: boolean
  readonly ratio: number
}

type Env = Readonly<Record<string, string | undefined>>

const defaultEndpoint = "http://localhost:4318"

const samplers: Record<string, { readonly parentBased: boolean; readonly ratio?: number }> = {
  always_on: { parentBased: false, ratio: 1 },
  always_off: { parentBased: false, ratio: 0 },
  traceidratio: { parentBased: false },
  parentbased_always_on: { parentBased: true, ratio: 1 },
  parentbased_always_off: { parentBased: true, ratio: 0 },
  parentbased_traceidratio: { parentBased: true }
}

const set = (value: string | undefined): value is string => value !== undefined && value.trim() !== ""

/**
 * One line per problem, as the rest of the configuration reports them. Variables meant for other
 * processes are not this server's business while its tracing is off, except an exporter it lacks.
 */
export const traceProblems = (config: TracingKeys, env: Env): Array<string> => {
  const problems: Array<string> = []
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase()
  if (set(exporter) && exporter !== "otlp" && exporter !== "none")
    problems.push("OTEL_TRACES_EXPORTER: expected otlp or none (spans are exported over OTLP/HTTP only)")
  if (traceExportOf(config, env) === undefined) return problems
  const sampler = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase()
  if (set(sampler) && samplers[sampler] === undefined)
    problems.push(`OTEL_TRACES_SAMPLER: expected one of ${Object.keys(samplers).join(", ")}`)
  const arg = env.OTEL_TRACES_SAMPLER_ARG
  if (set(arg) && !(Number(arg) >= 0 && Number(arg) <= 1))
    problems.push("OTEL_TRACES_SAMPLER_ARG: expected a number from 0 to 1")
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL
  if (set(protocol) && protocol.trim() !== "http/json")
    problems.push("OTEL_EXPORTER_OTLP_PROTOCOL: expected http/json (the only protocol this server sends)")
  return problems
}

/**
 * The export, or undefined when tracing is off: on with `tracing.enabled`, `OTEL_TRACES_EXPORTER=otlp`
 * or an OTLP endpoint variable; `OTEL_TRACES_EXPORTER=none` or `OTEL_SDK_DISABLED=true` turn it off.
 */
export const traceExportOf = (config: TracingKeys, env: Env): TraceExport | undefined => {
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase()
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true" || exporter === "none") return undefined
  const asked =
    config.enabled ||
    exporter === "otlp" ||
    set(env.OTEL_EXPORTER_OTLP_ENDPOINT) ||
    set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
  if (!asked) return undefined
  const base = (
    set(env.OTEL_EXPORTER_OTLP_ENDPOINT)
      ? env.OTEL_EXPORTER_OTLP_ENDPOINT
      : (config.endpoint ?? defaultEndpoint)
  ).replace(/\/+$/, "")
  const chosen = samplers[env.OTEL_TRACES_SAMPLER?.trim().toLowerCase() ?? ""]
  const arg = set(env.OTEL_TRACES_SAMPLER_ARG) ? Number(env.OTEL_TRACES_SAMPLER_ARG) : undefined
  return {
    url: set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
      ? env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
      : `${base}/v1/traces`,
    serviceName: set(env.OTEL_SERVICE_NAME) ? env.OTEL_SERVICE_NAME : config.service_name,
    parentBased: chosen?.parentBased ?? true,
    ratio: chosen === undefined ? config.sample_ratio : (chosen.ratio ?? arg ?? 1)
  }
}
