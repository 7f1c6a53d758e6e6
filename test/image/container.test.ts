import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { duckdbVersion } from "./build.js"
import {
  apiKey,
  baseImage,
  type Container,
  image,
  query,
  removeAll,
  runContainer,
  skipReason,
  waitHealthy
} from "./containers.js"
import { podman } from "./podman.js"

/** One container of the project's image, run as the deployment docs run it. */

describe.skipIf(skipReason !== undefined)("the image, run as a container", () => {
  let server: Container
  let startMillis = 0

  beforeAll(async () => {
    const started = Date.now()
    server = await runContainer()
    await waitHealthy(server)
    startMillis = Date.now() - started
  })

  afterAll(removeAll)

  it("runs as the numeric non-root user 10001 on a read-only root filesystem", async () => {
    expect(await server.inspect("{{.Config.User}}")).toBe("10001:10001")
    expect((await server.exec(["id", "-u"])).stdout.trim()).toBe("10001")
    expect(await server.inspect("{{.HostConfig.ReadonlyRootfs}}")).toBe("true")
    const write = await server.exec(["sh", "-c", "echo x > /app/written"])
    expect(write.code).not.toBe(0)
    expect(write.stderr).toMatch(/Read-only file system/)
    // tini is PID 1 and node its direct child (the launcher execs), so SIGTERM reaches node.
    expect((await server.exec(["cat", "/proc/1/cmdline"])).stdout.split("\0")[0]).toBe("/usr/bin/tini")
  })

  it("answers /health, /ready and a query", async () => {
    const health = await fetch(`${server.url}/health`)
    expect(health.status).toBe(200)
    const ready = await fetch(`${server.url}/ready`)
    expect(ready.status).toBe(200)
    const answer = await query(server, "SELECT 42 AS answer")
    expect(answer.status).toBe(200)
    expect(answer.body.rows).toEqual([[42]])
    const refused = await fetch(`${server.url}/v1/instances/default/query`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": `${apiKey}-wrong` },
      body: JSON.stringify({ query: "SELECT 1" })
    })
    expect(refused.status).toBe(401)
  })

  it("reports healthy through its own HEALTHCHECK (kept by --format docker)", async () => {
    expect(await server.inspect("{{json .Config.Healthcheck.Test}}")).toContain("/health")
    await podman(["healthcheck", "run", server.name])
    expect(await server.inspect("{{.State.Health.Status}}")).toBe("healthy")
  })

  it("has the extensions baked in at build time, for the pinned DuckDB", async () => {
    const listed = await server.exec(["ls", `/opt/pondpilot/extensions/v${duckdbVersion()}/linux_amd64`])
    expect(listed.stdout.split("\n").filter(Boolean).sort()).toEqual([
      "mysql_scanner.duckdb_extension",
      "postgres_scanner.duckdb_extension",
      "sqlite_scanner.duckdb_extension"
    ])
    // That they load (signed, for this DuckDB) is what the PostgreSQL attach tests show.
  })

  it("measures its size and start-up time (the figures of docs/deployment.md)", async () => {
    const size = async (tag: string) =>
      Number((await podman(["image", "inspect", "--format", "{{.Size}}", tag])).stdout.trim())
    const [total, base] = await Promise.all([size(image), size(baseImage)])
    const mb = (bytes: number) => Math.round(bytes / 1e6)
    console.log(
      `image tests: image ${mb(total)} MB = base stand-in ${mb(base)} MB + the project's layers ${mb(total - base)} MB; ` +
        `podman run to the first /health answer ${startMillis} ms`
    )
    // Generous bounds: a regression (dev dependencies shipped, a second copy of DuckDB) is far above.
    expect(total - base).toBeLessThan(400e6)
    expect(startMillis).toBeLessThan(30_000)
  })

  it("ships production dependencies only, and no sources or secrets", async () => {
    const app = await server.exec(["ls", "-A", "/app"])
    expect(app.stdout.split("\n").filter(Boolean).sort()).toEqual([
      "bin",
      "dist",
      "node_modules",
      "package.json"
    ])
    const devOnly = await server.exec([
      "sh",
      "-c",
      "ls -d /app/node_modules/typescript /app/node_modules/vitest /app/node_modules/@biomejs 2>/dev/null; true"
    ])
    expect(devOnly.stdout.trim()).toBe("")
    expect(image).not.toBe("")
  })
})
