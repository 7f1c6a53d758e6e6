import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { InstanceRegistry } from "../../src/services/InstanceRegistry.js"
import { query, type Received, send, within } from "../support/QueryClient.js"
import { type RunningServer, startServer, testSettings } from "../support/TestServer.js"

/**
 * A query waiting for its fair-share place runs without a fiber: a stop must find it in the queue.
 * Whatever stops it there (the client gone, a cancel), it leaves the queue at once, is no longer
 * listed, never runs, and holds no place afterwards.
 */
const settings = testSettings({
  query: { timeout: "20s", max_concurrent_per_principal: 1 },
  duckdb: { settings: { threads: 2 }, connection_pool: { min_connections: 1, max_connections: 2 } }
})
let server: RunningServer
beforeAll(async () => {
  server = await startServer(settings)
})
afterAll(() => server.dispose())

/** Seconds of work that stops within milliseconds of an interrupt. */
const heavy = "SELECT count(*) AS n FROM range(100000000000) t(i) WHERE i % 7 = 3"

interface Listed {
  readonly id: string
  readonly queryType: string | null
}

const listQueries = async (): Promise<Array<Listed>> => {
  const response = await send(`${server.url}/v1/queries`, undefined)
  expect(response.status).toBe(200)
  return (JSON.parse(response.body.toString("utf8")) as { queries: Array<Listed> }).queries
}

const cancel = (id: string) => send(`${server.url}/v1/queries/${id}`, undefined, { method: "DELETE" })

const bodyOf = (response: Received) => JSON.parse(response.body.toString("utf8")) as Record<string, unknown>

const poolInUse = async () => {
  const registry = await server.runtime.runPromise(InstanceRegistry)
  return registry.all().find((instance) => instance.id === "default")!.pool.stats.inUse
}

/** The principal's one place is taken by a heavy query; returns it (judged and running) and its answer. */
const holdThePlace = async () => {
  const answer = query(server.url, "default", { query: heavy })
  let running: Listed | undefined
  await within(5_000, async () => {
    running = (await listQueries()).find((listed) => listed.queryType !== null)
    return running !== undefined
  })
  return { running: running!, answer }
}

/** The query queued behind it: listed, but never judged by the gate (it has not started). */
const queuedBehind = async (holder: Listed): Promise<Listed> => {
  let queued: Listed | undefined
  await within(5_000, async () => {
    queued = (await listQueries()).find((listed) => listed.id !== holder.id)
    return queued !== undefined
  })
  expect(queued!.queryType).toBeNull()
  return queued!
}

/**
 * Once the holder is cancelled, nothing is left: a stopped query left in the queue would now be
 * given the place and run its heavy statement, unlisted and unstoppable, holding a connection.
 */
const expectNothingLeft = async (holder: Listed, answer: Promise<Received>) => {
  expect((await cancel(holder.id)).status).toBe(204)
  expect((await answer).status).toBe(409)
  await within(5_000, async () => (await poolInUse()) === 0)
  expect(await listQueries()).toEqual([])
  const started = Date.now()
  const next = await query(server.url, "default", { query: "SELECT 42 AS answer" })
  expect(bodyOf(next).rows).toEqual([[42]])
  expect(Date.now() - started).toBeLessThan(2_000)
}

describe("a query waiting for its place", () => {
  it("whose client goes away leaves the queue at once and never runs", async () => {
    const { running, answer } = await holdThePlace()
    const abort = new AbortController()
    const gone = query(server.url, "default", { query: heavy }, { signal: abort.signal })
    const queued = await queuedBehind(running)
    abort.abort()
    expect((await gone).error).toBe("aborted")
    await within(1_000, async () => !(await listQueries()).some((listed) => listed.id === queued.id))
    // Still waiting behind the holder, it would have been given the place and run by now.
    expect(await poolInUse()).toBe(1)
    await expectNothingLeft(running, answer)
  }, 30_000)

  it("that is cancelled answers 409 cancelled at once, and never runs", async () => {
    const { running, answer } = await holdThePlace()
    const waiting = query(server.url, "default", { query: heavy })
    const queued = await queuedBehind(running)
    const started = Date.now()
    expect((await cancel(queued.id)).status).toBe(204)
    const response = await waiting
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(response.status).toBe(409)
    expect(bodyOf(response)).toMatchObject({ code: "cancelled" })
    expect((await listQueries()).map((listed) => listed.id)).toEqual([running.id])
    expect(await poolInUse()).toBe(1)
    await expectNothingLeft(running, answer)
  }, 30_000)
})
