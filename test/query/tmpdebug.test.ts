import { setTimeout as sleep } from "node:timers/promises"
import { it } from "vitest"
import { startServer, testSettings } from "../support/TestServer.js"
import { query, send } from "./client.js"
it("debug", async () => {
  const server = await startServer(testSettings({ query: { timeout: "20s" } }))
  await send(`${server.url}/health`, undefined, { key: null })
  for (const fmt of ["json", "ndjson", "csv", "arrow"]) {
    let done = false
    const t = Date.now()
    const p = query(server.url, "default", { query: `SELECT repeat('"/a', 10000000) AS v` }, { format: fmt, keep: 100 }).finally(() => { done = true })
    const lat = []
    while (!done) { const s = performance.now(); await send(`${server.url}/health`, undefined, { key: null }); lat.push(Math.round(performance.now() - s)); await sleep(10) }
    const r = await p
    console.log(fmt, r.status, Date.now() - t, Math.max(...lat), lat.join(","))
  }
  await server.dispose()
}, 60000)
