import * as http from "node:http"
import type { AddressInfo } from "node:net"

/** One span as OTLP/HTTP JSON carries it, with its attributes flattened to plain values. */
export interface ReceivedSpan {
  readonly name: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly kind: number
  readonly status: { readonly code?: number; readonly message?: string }
  readonly attributes: Readonly<Record<string, unknown>>
  readonly service: unknown
}

interface AnyValue {
  readonly stringValue?: string
  readonly intValue?: string | number
  readonly doubleValue?: number
  readonly boolValue?: boolean
}

interface KeyValue {
  readonly key: string
  readonly value: AnyValue
}

const plainValue = (value: AnyValue): unknown =>
  value.stringValue ??
  (value.intValue !== undefined ? Number(value.intValue) : (value.doubleValue ?? value.boolValue))

const flatten = (attributes: ReadonlyArray<KeyValue> | undefined) =>
  Object.fromEntries((attributes ?? []).map(({ key, value }) => [key, plainValue(value)]))

/**
 * An OTLP/HTTP collector in the test process: a node:http server on a free loopback port that takes
 * `POST /v1/traces` JSON exports, keeps every span and every raw body (to search for what must not
 * be there).
 */
export const startOtlpReceiver = async () => {
  const spans: Array<ReceivedSpan> = []
  const bodies: Array<string> = []
  const server = http.createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8")
      bodies.push(body)
      if (request.url === "/v1/traces" && request.headers["content-type"]?.startsWith("application/json")) {
        const payload = JSON.parse(body) as {
          resourceSpans?: Array<{
            resource?: { attributes?: Array<KeyValue> }
            scopeSpans?: Array<{
              spans?: Array<{
                name: string
                traceId: string
                spanId: string
                parentSpanId?: string
                kind: number
                status?: { code?: number; message?: string }
                attributes?: Array<KeyValue>
              }>
            }>
          }>
        }
        for (const resource of payload.resourceSpans ?? []) {
          const service = flatten(resource.resource?.attributes)["service.name"]
          for (const scope of resource.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) {
              spans.push({
                name: span.name,
                traceId: span.traceId,
                spanId: span.spanId,
                parentSpanId: span.parentSpanId || undefined,
                kind: span.kind,
                status: span.status ?? {},
                attributes: flatten(span.attributes),
                service
              })
            }
          }
        }
      }
      response.writeHead(200, { "content-type": "application/json" })
      response.end("{}")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
