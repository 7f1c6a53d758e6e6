import { HttpServer } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { type Effect, Either, Layer, ManagedRuntime } from "effect"
import { stringify } from "yaml"
import { loadSettings, type Settings } from "../../src/domain/ConfigLoader.js"
import { HttpLive } from "../../src/layers/MainLive.js"
import { AppConfig } from "../../src/services/AppConfig.js"
import { LogWriter, memorySink } from "../../src/services/LogWriter.js"
import { capturedLogger } from "./Logs.js"

/** Settings as the server would load them from a YAML file and an environment. */
export const testSettings = (
  config: Record<string, unknown> = {},
  env: Record<string, string> = {}
): Settings => {
  const security = config.security as Record<string, unknown> | undefined
  const withPort = {
    ...config,
    server: { port: 0, ...(config.server as object | undefined) },
    security: { rate_limit: { requests_per_minute: 1_000_000, burst_size: 10_000 }, ...security }
  }
  const result = loadSettings({
    env: {
      API_KEY: "test-key,other-key",
      ENCRYPTION_KEY: "k".repeat(32),
      CONFIG_FILE: "/config.yaml",
      ...env
    },
    cwd: "/",
    readFile: () => stringify(withPort)
  })
  if (Either.isLeft(result)) throw new Error(result.left.join("\n"))
  return result.right
}

/** The whole HTTP server on a free loopback port, with a client pointed at it; log lines go to `lines`. */
export const testServerLayer = (settings: Settings, lines: ReturnType<typeof memorySink> = memorySink()) =>
  HttpServer.layerTestClient.pipe(
    Layer.provide(NodeHttpClient.layerWithoutAgent),
    Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: false })),
    Layer.provideMerge(HttpLive),
    Layer.provide(AppConfig.layerWith(settings)),
    Layer.provide(LogWriter.layerWith(lines.sink)),
    // Lifecycle lines (listening, draining) go through Effect's default logger: captured, not printed.
    Layer.provide(capturedLogger)
  )

export interface RunningServer {
  readonly url: string
  /** Every line the server logged (audit and otherwise), as written. */
  readonly logLines: Array<string>
  readonly runtime: ManagedRuntime.ManagedRuntime<
    Layer.Layer.Success<ReturnType<typeof testServerLayer>>,
    unknown
  >
  readonly dispose: () => Promise<void>
}

/** Starts a server for a test file; `dispose` drains it as a shutdown would. */
export const startServer = async (settings: Settings = testSettings()): Promise<RunningServer> => {
  const lines = memorySink()
  const runtime = ManagedRuntime.make(testServerLayer(settings, lines))
  const server = await runtime.runPromise(HttpServer.HttpServer)
  const address = server.address
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  return {
    url: `http://127.0.0.1:${address.port}`,
    logLines: lines.lines,
    runtime,
    dispose: () => runtime.dispose()
  }
}

export const apiKey = "test-key"
export const otherKey = "other-key"

export const json = (body: unknown, key: string | undefined = apiKey): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...(key === undefined ? {} : { "x-api-key": key }) },
  body: JSON.stringify(body)
})

export const authed = (key: string = apiKey, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { "x-api-key": key, ...(init.headers as Record<string, string> | undefined) }
})

export const run = <A, E>(server: RunningServer, effect: Effect.Effect<A, E, never>) =>
  server.runtime.runPromise(effect)
