import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Metrics } from "../../src/services/Metrics.js"
import { readDoc } from "../support/Markdown.js"
import { repoRoot } from "../support/RepoFiles.js"
import { queuedBeforeDropping, shutdownWaitSeconds } from "../support/StuckStdout.js"
import { json, type RunningServer, startServer, testSettings } from "../support/TestServer.js"

/** docs/operations.md says what the server and its launcher do. */

const operations = readDoc("docs/operations.md")

const jsonSamples = (text: string): Array<Record<string, unknown>> =>
  [...text.matchAll(/```json\n([\s\S]*?)```/g)].flatMap((match) =>
    match[1]!
      .split("\n")
      .filter((line) => line.trim().startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
  )

describe("docs/operations.md", () => {
  let server: RunningServer
  beforeAll(async () => {
    server = await startServer(
      testSettings({ security: { rate_limit: { requests_per_minute: 60, burst_size: 2 } } })
    )
  })
  afterAll(() => server.dispose())

  it("shows one sample line per kind of audit line, with exactly the fields the server writes", async () => {
    const call = (route: string, init?: RequestInit) => fetch(`${server.url}${route}`, init)
    await call("/health")
    await call("/v1/instances/default/query", json({ query: "SELECT 42 AS answer" }))
    await call("/v1/instances/default/query", json({ query: "SELECT nope" }))
    await call("/v1/instances", { headers: { "x-api-key": "wrong" } })
    for (let i = 0; i < 4; i++) await call("/v1/instances", { headers: { "x-api-key": "test-key" } })
    await new Promise((resolve) => setTimeout(resolve, 50))
    const real = server.logLines.map((line) => JSON.parse(line) as Record<string, unknown>)
    const samples = jsonSamples(operations)
    const kinds = ["query executed", "query failed", "request", "authentication failed", "rate limited"]
    for (const kind of kinds) {
      const sample = samples.find((line) => line.message === kind)
      const line = real.find((candidate) => candidate.message === kind)
      expect(sample, `the page's sample of "${kind}"`).toBeDefined()
      expect(line, `a real "${kind}" line`).toBeDefined()
      expect(Object.keys(sample!), kind).toEqual(Object.keys(line!))
      expect(sample!.level, kind).toBe(line!.level)
    }
    for (const message of ["listening", "draining", "stopped serving"])
      expect(samples.map((line) => line.message)).toContain(message)
    expect(operations).toContain('"message":"log lines dropped","dropped":')
  })

  it("lists every metric family the server exposes (Node's own as pondpilot_process_* and pondpilot_nodejs_*)", async () => {
    const body = await Effect.runPromise(
      Effect.scoped(Effect.flatMap(Metrics, (metrics) => metrics.render())).pipe(
        Effect.provide(Metrics.Default)
      )
    )
    const families = [...body.body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => match[1]!)
    const own = families.filter((name) => !/^pondpilot_(process|nodejs)_/.test(name))
    expect(own.length).toBeGreaterThanOrEqual(10)
    const listed = new Set([...operations.matchAll(/`(pondpilot_[a-z_]+)`/g)].map((match) => match[1]!))
    for (const family of own) expect(listed, family).toContain(family)
    for (const name of listed) expect(families, name).toContain(name)
    expect(operations).toContain("`pondpilot_process_*`")
    expect(operations).toContain("`pondpilot_nodejs_*`")
  })

  it("states the launcher's defaults as the launcher applies them", () => {
    const applied = launched({})
    expect(operations).toContain(`\`UV_THREADPOOL_SIZE\` (default \`${applied.threads}\`)`)
    expect(launched({ UV_THREADPOOL_SIZE: "8" }).threads).toBe("8")
    expect(operations).toContain("`PONDPILOT_ADDRESS_SPACE_LIMIT_KB` sets it in KiB")
    expect(launched({ PONDPILOT_ADDRESS_SPACE_LIMIT_KB: "20000000" }).addressSpaceKiB).toBe("20000000")
    expect(operations).toContain("`unlimited` turns it off")
    expect(launched({ PONDPILOT_ADDRESS_SPACE_LIMIT_KB: "unlimited" }).addressSpaceKiB).toBe("unlimited")
    expect(operations).toContain("never below 4 GiB")
    expect(launched({ PONDPILOT_ADDRESS_SPACE_LIMIT_KB: "1000" }).addressSpaceKiB).toBe(
      String(4 * 1024 * 1024)
    )
  })

  it("states the log queue's bounds and the shutdown flush as the writer keeps them", async () => {
    const lines = await queuedBeforeDropping("x")
    const megabytes = ((await queuedBeforeDropping("x".repeat(9_999))) * 10_000) / 1e6
    expect(operations).toContain(`(${lines.toLocaleString("en-US")} lines or ${Math.round(megabytes)} MB)`)
    expect(operations).toContain(`is flushed (for up to ${await shutdownWaitSeconds()} s)`)
  })
})

/** What the launcher hands to node: `node` is a stand-in that reports its environment and limits. */
const launched = (env: Record<string, string>): { threads: string; addressSpaceKiB: string } => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pondpilot-launcher-"))
  try {
    fs.writeFileSync(
      path.join(dir, "node"),
      '#!/bin/sh\n[ "$1" = "-e" ] && exit 0\necho "$UV_THREADPOOL_SIZE $(ulimit -v)"\n',
      { mode: 0o755 }
    )
    const output = execFileSync("sh", [path.join(repoRoot, "bin/pondpilot-proxy")], {
      env: { PATH: `${dir}:${process.env.PATH ?? ""}`, ...env },
      encoding: "utf8"
    })
    const [threads, addressSpaceKiB] = output.trim().split(" ") as [string, string]
    return { threads, addressSpaceKiB }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
