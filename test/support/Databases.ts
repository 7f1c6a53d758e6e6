import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { HttpServer } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Layer, ManagedRuntime } from "effect"
import { expect } from "vitest"
import type { Settings } from "../../src/domain/ConfigLoader.js"
import { HttpLive } from "../../src/layers/MainLive.js"
import { AppConfig } from "../../src/services/AppConfig.js"
import { JsonLoggerLayer } from "../../src/services/JsonLogger.js"
import { LogWriter, memorySink } from "../../src/services/LogWriter.js"
import { apiKey, authed, json, type RunningServer } from "./TestServer.js"

/**
 * `startServer` with the server's JSON logger installed as well, so that `logLines` holds every log
 * line (warnings of the registry, recovery notes) and not only the audit log: the tests look for
 * secrets in all of them.
 */
export const startLoggedServer = async (settings: Settings): Promise<RunningServer> => {
  const lines = memorySink()
  const logging = JsonLoggerLayer.pipe(Layer.provideMerge(LogWriter.layerWith(lines.sink)))
  const runtime = ManagedRuntime.make(
    HttpServer.layerTestClient.pipe(
      Layer.provide(NodeHttpClient.layerWithoutAgent),
      Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: false })),
      Layer.provideMerge(HttpLive),
      Layer.provide(AppConfig.layerWith(settings)),
      Layer.provide(logging)
    )
  )
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

/** A fresh directory under the system's temp dir, with symlinks resolved (macOS' /tmp is one). */
export const tempRoot = (prefix: string): string =>
  fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `pondpilot-${prefix}-`)))

/** Writes a DuckDB file with `statements` run in it, then closes it (so its lock is released). */
export const makeDuckDbFile = async (file: string, statements: ReadonlyArray<string>): Promise<string> => {
  const instance = await DuckDBInstance.create(file)
  const connection = await instance.connect()
  try {
    for (const sql of statements) await connection.run(sql)
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
  return file
}

export const sha256 = (file: string): string =>
  createHash("sha256").update(fs.readFileSync(file)).digest("hex")

/** Calls the server and keeps the raw body, so tests can look for leaks in the exact bytes sent. */
export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly body: Record<string, unknown>
}

export const client = (server: Pick<RunningServer, "url">) => {
  const call = async (route: string, init?: RequestInit): Promise<Answer> => {
    const response = await fetch(`${server.url}${route}`, init)
    const text = await response.text()
    let body: Record<string, unknown> = {}
    try {
      body = JSON.parse(text) as Record<string, unknown>
    } catch {
      // not JSON: tests that care look at `text`
    }
    return { status: response.status, headers: response.headers, text, body }
  }
  return {
    call,
    createInstance: async (key = apiKey): Promise<string> => {
      const created = await call("/v1/instances", json({}, key))
      expect(created.status).toBe(201)
      return String(created.body.id)
    },
    attach: (instance: string, body: Record<string, unknown>, key = apiKey) =>
      call(`/v1/instances/${instance}/databases`, json(body, key)),
    detach: (instance: string, alias: string, key = apiKey) =>
      call(`/v1/instances/${instance}/databases/${alias}`, authed(key, { method: "DELETE" })),
    list: (instance: string, key = apiKey) => call(`/v1/instances/${instance}/databases`, authed(key)),
    instance: (instance: string, key = apiKey) => call(`/v1/instances/${instance}`, authed(key)),
    query: (instance: string, sql: string, key = apiKey) =>
      call(`/v1/instances/${instance}/query`, json({ query: sql }, key)),
    ready: () => call("/ready")
  }
}

/** Asserts the contract's error shape and returns the message. */
export const expectError = (answer: Answer, status: number, code: string): string => {
  expect({ status: answer.status, code: answer.body.code }).toEqual({ status, code })
  expect(Object.keys(answer.body).sort()).toEqual(["code", "error", "requestId"])
  return String(answer.body.error)
}

/** The rows of a JSON query result. */
export const rowsOf = (answer: Answer): Array<Array<unknown>> => {
  expect(answer.status, answer.text).toBe(200)
  return answer.body.rows as Array<Array<unknown>>
}

/** Every line the server logged so far, split (a sink chunk may hold several). */
export const logText = (server: RunningServer): string => server.logLines.join("\n")

export const waitFor = async (
  condition: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 10_000
): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await condition()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}
