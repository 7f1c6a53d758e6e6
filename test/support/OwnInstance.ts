import { afterAll, beforeAll, expect } from "vitest"
import type { Settings } from "../../src/domain/ConfigLoader.js"
import { query, send } from "./QueryClient.js"
import { type RunningServer, startServer } from "./TestServer.js"

/**
 * A server for a test file, started before its tests and stopped after them, with one instance
 * created through the API: the client's own, where it may write (create tables and views).
 * `run` sends a statement to that instance.
 */
export const serverWithOwnInstance = (settings: Settings) => {
  let server: RunningServer | undefined
  let instance = ""
  beforeAll(async () => {
    server = await startServer(settings)
    const created = await send(`${server.url}/v1/instances`, {})
    expect(created.status).toBe(201)
    instance = String(JSON.parse(created.body.toString("utf8")).id)
  })
  afterAll(() => server?.dispose())
  return { run: (sql: string) => query(server!.url, instance, { query: sql }) }
}
