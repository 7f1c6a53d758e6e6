import { HttpServer } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Either, Layer, ManagedRuntime } from "effect"
import { stringify } from "yaml"
import { loadSettings, type Settings } from "../../src/domain/ConfigLoader.js"
import { HttpLive } from "../../src/layers/MainLive.js"
import { AppConfig } from "../../src/services/AppConfig.js"

/** Settings as the server would load them from a YAML file and an environment. */
export const testSettings = (config: Record<string, unknown> = {}, env: Record<string, string> = {}): Settings => {
  const withPort = { ...config, server: { port: 0, ...(config.server as object | undefined) } }
  const result = loadSettings({
    env: { API_KEY: "test-key,other-key", ENCRYPTION_KEY: "k".repeat(32), CONFIG_FILE: "/config.yaml", ...env },
    cwd: "/",
    readFile: () => stringify(withPort)
  })
  if (Either.isLeft(result)) throw new Error(result.left.join("\n"))
  return result.right
}

/** The whole HTTP server on a free loopback port, with a client pointed at it. */
export const testServerLayer = (settings: Settings) =>
  HttpServer.layerTestClient.pipe(
    Layer.provide(NodeHttpClient.layerWithoutAgent),
    Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: false })),
    Layer.provideMerge(HttpLive),
    Layer.provide(AppConfig.layerWith(settings))
  )

export interface RunningServer {
  readonly url: string
  readonly runtime: ManagedRuntime.ManagedRuntime<Layer.Layer.Success<ReturnType<typeof testServerLayer>>, unknown>
  readonly dispose: () => Promise<void>
}

/** Starts a server for a test file; `dispose` drains it as a shutdown would. */
export const startServer = async (settings: Settings = testSettings()): Promise<RunningServer> => {
  const runtime = ManagedRuntime.make(testServerLayer(settings))
  const server = await runtime.runPromise(HttpServer.HttpServer)
  const address = server.address
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  return {
    url: `http://127.0.0.1:${address.port}`,
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

export const run = <A, E>(server: RunningServer, effect: Effect.Effect<A, E, never>) => server.runtime.runPromise(effect)
