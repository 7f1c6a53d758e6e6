import * as path from "node:path"
import { Cause, Effect, Exit, Option } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { ConnectionPool } from "../../src/duckdb/ConnectionPool.js"
import { InstanceRegistry } from "../../src/services/InstanceRegistry.js"
import { client, makeDuckDbFile, rowsOf, startLoggedServer, tempRoot, waitFor } from "../support/Databases.js"
import { apiKey, json, type RunningServer, testSettings } from "../support/TestServer.js"

/**
 * An attach or detach builds a new engine and swaps it in; queries running on the old engine finish
 * there, undisturbed, and the old engine is closed once they have.
 *
 * The running query is a streamed result the test does not read: the server writes with backpressure,
 * so the DuckDB query stays in progress (holding its connection) for as long as the test pauses.
 */
let server: RunningServer
let api: ReturnType<typeof client>
let root: string
const rowCount = 2_000_000

beforeAll(async () => {
  root = tempRoot("swap")
  await makeDuckDbFile(path.join(root, "first.duckdb"), ["CREATE TABLE t AS SELECT 'first' AS name"])
  await makeDuckDbFile(path.join(root, "second.duckdb"), ["CREATE TABLE t AS SELECT 'second' AS name"])
  await makeDuckDbFile(path.join(root, "third.duckdb"), ["CREATE TABLE t AS SELECT 'third' AS name"])
  server = await startLoggedServer(testSettings({ duckdb: { file_roots: [root] } }))
  api = client(server)
})
afterAll(() => server.dispose())

const poolOf = async (id: string): Promise<ConnectionPool> => {
  const registry = await server.runtime.runPromise(InstanceRegistry)
  return Option.getOrThrow(registry.find(id)).pool
}

/** True once the pool refuses connections: it has been closed, and its engine with it. */
const isClosed = async (pool: ConnectionPool): Promise<boolean> => {
  const exit = await Effect.runPromiseExit(
    pool.acquire.pipe(Effect.tap((lent) => Effect.sync(() => pool.release(lent))))
  )
  if (Exit.isSuccess(exit)) return false
  const failure = Cause.failureOption(exit.cause)
  return Option.isSome(failure) && failure.value._tag === "ShuttingDown"
}

/** Starts a long CSV result and reads only its first chunk; the rest is read by `finish`. */
const startStreaming = async (id: string, sql: string) => {
  const response = await fetch(`${server.url}/v1/instances/${id}/query?format=csv`, json({ query: sql }))
  expect(response.status).toBe(200)
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  const first = await reader.read()
  let text = decoder.decode(first.value, { stream: true })
  return {
    response,
    finish: async () => {
      for (;;) {
        const chunk = await reader.read()
        if (chunk.done) break
        text += decoder.decode(chunk.value, { stream: true })
      }
      return (text + decoder.decode()).trimEnd().split("\r\n")
    }
  }
}

const runningQueries = async () =>
  (await api.call("/v1/queries", { headers: { "x-api-key": apiKey } })).body.queries as Array<{
    instanceId: string
  }>

describe("attach while a query runs", () => {
  it("lets the running query finish on the old engine, serves new queries from the new one, then closes the old", async () => {
    const id = await api.createInstance()
    expect(
      (await api.attach(id, { type: "duckdb", alias: "first", connectionString: "first.duckdb" })).status
    ).toBe(201)
    const oldPool = await poolOf(id)
    const running = await startStreaming(id, `SELECT i, f.name FROM range(${rowCount}) r(i), first.t f`)
    expect(oldPool.stats.inUse).toBe(1)

    const attached = await api.attach(id, {
      type: "duckdb",
      alias: "second",
      connectionString: "second.duckdb"
    })
    expect(attached.status, attached.text).toBe(201)

    // Swapped: new queries go to the new engine, which has both databases...
    const newPool = await poolOf(id)
    expect(newPool).not.toBe(oldPool)
    expect(
      rowsOf(await api.query(id, "SELECT (SELECT name FROM first.t) || '+' || (SELECT name FROM second.t)"))
    ).toEqual([["first+second"]])
    // ...while the old one still serves the query that was running, which nothing interrupted.
    expect((await runningQueries()).filter((query) => query.instanceId === id)).toHaveLength(1)
    expect(oldPool.stats.inUse).toBe(1)
    expect(await isClosed(oldPool)).toBe(false)

    const lines = await running.finish()
    expect(running.response.headers.get("x-result-truncated")).toBeNull()
    expect(lines[0]).toBe("i,name")
    expect(lines).toHaveLength(rowCount + 1)
    expect(lines).toContain(`${rowCount - 1},first`)

    // Its query done, the old engine is closed; the new one is untouched.
    await waitFor(() => isClosed(oldPool), "the old engine to be closed")
    expect(oldPool.stats).toMatchObject({ inUse: 0, idle: 0 })
    expect(await isClosed(newPool)).toBe(false)
    expect(rowsOf(await api.query(id, "SELECT name FROM second.t"))).toEqual([["second"]])
  })

  it("lets a running query on a database being detached finish; new queries no longer see it", async () => {
    const id = await api.createInstance()
    expect(
      (await api.attach(id, { type: "duckdb", alias: "first", connectionString: "first.duckdb" })).status
    ).toBe(201)
    const oldPool = await poolOf(id)
    const running = await startStreaming(id, `SELECT i, f.name FROM range(${rowCount}) r(i), first.t f`)
    expect((await api.detach(id, "first")).status).toBe(204)
    expect((await api.query(id, "SELECT name FROM first.t")).body.code).toBe("sql_error")
    const lines = await running.finish()
    expect(lines).toHaveLength(rowCount + 1)
    await waitFor(() => isClosed(oldPool), "the old engine to be closed")
  })

  it("serialises concurrent changes: two attaches at once both end up attached", async () => {
    const id = await api.createInstance()
    const [second, third] = await Promise.all([
      api.attach(id, { type: "duckdb", alias: "second", connectionString: "second.duckdb" }),
      api.attach(id, { type: "duckdb", alias: "third", connectionString: "third.duckdb" })
    ])
    expect([second.status, third.status]).toEqual([201, 201])
    const listed = (await api.list(id)).body.databases as Array<{ alias: string }>
    expect(listed.map((database) => database.alias).sort()).toEqual(["second", "third"])
    expect(
      rowsOf(await api.query(id, "SELECT (SELECT name FROM second.t) || '+' || (SELECT name FROM third.t)"))
    ).toEqual([["second+third"]])
    // And the same alias twice at once: exactly one wins.
    const [a, b] = await Promise.all([
      api.attach(id, { type: "duckdb", alias: "dup", connectionString: "first.duckdb" }),
      api.attach(id, { type: "duckdb", alias: "DUP", connectionString: "first.duckdb" })
    ])
    expect([a.status, b.status].sort()).toEqual([201, 409])
  })
})
