import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { expectError, postQuery } from "../support/Hostile.js"
import {
  apiKey,
  authed,
  json,
  otherKey,
  type RunningServer,
  startServer,
  testSettings
} from "../support/TestServer.js"

/**
 * Running queries belong to the principal that started them, like instances (instance ownership
 * itself: test/http/foundation.test.ts and jwt.http.test.ts). Another principal neither sees nor
 * cancels them.
 */
let server: RunningServer

beforeAll(async () => {
  server = await startServer(testSettings({ query: { timeout: "20s" } }))
})
afterAll(() => server.dispose())

interface RunningQueryView {
  readonly id: string
  readonly instanceId: string
  readonly startedAt: string
  readonly elapsedMs: number
  readonly queryType: string
}

const runningQueries = async (key: string) => {
  const response = await fetch(`${server.url}/v1/queries`, authed(key))
  expect(response.status).toBe(200)
  return ((await response.json()) as { queries: Array<RunningQueryView> }).queries
}

const waitFor = async <A>(probe: () => Promise<A | undefined>, timeoutMs = 5_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const found = await probe()
    if (found !== undefined) return found
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error("timed out waiting")
}

describe("running queries", () => {
  it("are listed and cancellable by their owner only", async () => {
    const created = await fetch(`${server.url}/v1/instances`, json({}))
    const { id: instanceId } = (await created.json()) as { id: string }
    const long = postQuery(server.url, instanceId, "SELECT count(*) FROM range(1000000000000) t(x)")

    const mine = await waitFor(async () => (await runningQueries(apiKey))[0])
    expect(mine.instanceId).toBe(instanceId)
    // The query type is only filled in once DuckDB hands over a first chunk; an aggregate's comes at the end.
    expect([null, "SELECT"]).toContain(mine.queryType)
    expect(mine.id).toMatch(/^q_[A-Za-z0-9_-]+$/)

    // The other principal: nothing listed, and the id is as unknown as a made-up one.
    expect(await runningQueries(otherKey)).toEqual([])
    const foreign = await expectError(
      await fetch(`${server.url}/v1/queries/${mine.id}`, authed(otherKey, { method: "DELETE" })),
      404,
      "not_found"
    )
    const madeUp = await expectError(
      await fetch(`${server.url}/v1/queries/q_doesnotexist`, authed(otherKey, { method: "DELETE" })),
      404,
      "not_found"
    )
    expect(foreign.error).toBe(madeUp.error)
    // Still running after the foreign attempt.
    expect((await runningQueries(apiKey)).map((query) => query.id)).toContain(mine.id)

    const cancelled = await fetch(`${server.url}/v1/queries/${mine.id}`, authed(apiKey, { method: "DELETE" }))
    expect(cancelled.status).toBe(204)
    await expectError(await long, 409, "cancelled")
    await waitFor(async () => ((await runningQueries(apiKey)).length === 0 ? true : undefined))
    await fetch(`${server.url}/v1/instances/${instanceId}`, authed(apiKey, { method: "DELETE" }))
  })

  it("on the shared default instance are still private to whoever started them", async () => {
    const long = postQuery(server.url, "default", "SELECT count(*) FROM range(1000000000000) t(x)", undefined)
    const mine = await waitFor(async () => (await runningQueries(apiKey))[0])
    expect(mine.instanceId).toBe("default")
    expect(await runningQueries(otherKey)).toEqual([])
    await expectError(
      await fetch(`${server.url}/v1/queries/${mine.id}`, authed(otherKey, { method: "DELETE" })),
      404,
      "not_found"
    )
    expect(
      (await fetch(`${server.url}/v1/queries/${mine.id}`, authed(apiKey, { method: "DELETE" }))).status
    ).toBe(204)
    await expectError(await long, 409, "cancelled")
  })
})
