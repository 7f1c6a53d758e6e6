import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { Duration } from "effect"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { hardStopMillis, lastWordsMillis } from "../../src/http/Server.js"
import { instructionsOf, parseDockerfile } from "../support/Dockerfile.js"
import { ensureBuilt, freePort, jsonLines, projectRoot, tempDir } from "../support/Process.js"
import {
  decodeConfig,
  durationSeconds,
  productionSecrets,
  readRepoFile,
  readYaml
} from "../support/RepoFiles.js"

/**
 * The built server under an orchestrator's hand: what compose and Kubernetes are told to wait, and
 * what the server does in that time (readiness fails first, in-flight work finishes, exit 0); and
 * a log that never holds up a request, even when nobody reads stdout.
 */

beforeAll(() => ensureBuilt())

interface Started {
  readonly child: ChildProcess
  readonly url: string
  readonly stderr: () => string
  readonly exited: Promise<number | string>
}

const started: Array<Started> = []
afterEach(async () => {
  for (const server of started.splice(0)) {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill("SIGKILL")
    await server.exited
  }
})

/** `sh bin/pondpilot-proxy` with a config file; stdout is left to the caller (unread unless read). */
const start = async (yaml: string, env: Record<string, string> = {}): Promise<Started> => {
  const dir = tempDir("ops-e2e")
  fs.writeFileSync(path.join(dir, "config.yaml"), yaml)
  const port = await freePort()
  const child = spawn("sh", ["bin/pondpilot-proxy"], {
    cwd: projectRoot,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      CONFIG_FILE: path.join(dir, "config.yaml"),
      PORT: String(port),
      API_KEY: "ops-key",
      ...env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stderr = ""
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"))
  )
  const server = { child, url: `http://127.0.0.1:${port}`, stderr: () => stderr, exited }
  started.push(server)
  return server
}

/** Collects stdout from now on. */
const readStdout = (server: Started) => {
  let text = ""
  server.child.stdout!.on("data", (chunk: Buffer) => {
    text += chunk.toString()
  })
  return () => text
}

interface Answer {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/** One request on a fresh connection (as a probe or a new client would make it). */
const request = (url: string, init: { method?: string; body?: unknown } = {}): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const body = init.body === undefined ? undefined : JSON.stringify(init.body)
    const req = http.request(
      url,
      {
        method: init.method ?? (body === undefined ? "GET" : "POST"),
        agent: false,
        headers: {
          "x-api-key": "ops-key",
          ...(body === undefined ? {} : { "content-type": "application/json" })
        }
      },
      (res) => {
        let text = ""
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString()
        })
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }))
        res.on("error", reject)
      }
    )
    req.on("error", reject)
    req.end(body)
  })

const waitHealthy = async (server: Started) => {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) throw new Error(`exited early:\n${server.stderr()}`)
    const ok = await request(`${server.url}/health`).then(
      (answer) => answer.status === 200,
      () => false
    )
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`not healthy:\n${server.stderr()}`)
}

/** Polls /ready until it stops answering 200; resolves with that answer and how long it took. */
const readinessAfterStop = async (server: Started, since: number) => {
  for (;;) {
    const answer = await request(`${server.url}/ready`).catch(
      (error: Error): Answer => ({ status: 0, headers: {}, body: error.message })
    )
    if (answer.status !== 200) return { answer, afterMs: Date.now() - since }
    if (Date.now() - since > 5_000) throw new Error("/ready still answers 200 five seconds after SIGTERM")
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe("what the orchestrators are told to wait", () => {
  const marginSeconds = (hardStopMillis + lastWordsMillis) / 1000

  it("compose gives the server longer than shutdown_timeout and its own hard deadline", () => {
    const proxy = readYaml("docker-compose.yaml").services["pondpilot-proxy"]
    const settings = decodeConfig(readRepoFile("deploy/demo/config.yaml"), {
      ...productionSecrets,
      POSTGRES_URL: "postgresql://u:p@h/db",
      MYSQL_URL: "mysql://u:p@h/db"
    })
    const shutdown = Duration.toSeconds(settings.server.shutdown_timeout)
    expect(proxy.stop_signal ?? "SIGTERM").toBe("SIGTERM")
    expect(durationSeconds(proxy.stop_grace_period)).toBeGreaterThan(shutdown + marginSeconds)
  })

  it("Kubernetes gives the pod longer than preStop + shutdown_timeout + the hard deadline", () => {
    const deployment = readYaml("deploy/kubernetes/deployment.yaml")
    const pod = deployment.spec.template.spec
    const container = pod.containers[0]
    const preStop = Number(container.lifecycle.preStop.exec.command[1])
    const configMap = readYaml("deploy/kubernetes/configmap.yaml")
    const settings = decodeConfig(configMap.data["config.yaml"], {
      ...productionSecrets,
      POSTGRES_URL: "postgresql://u:p@h/db",
      MYSQL_URL: "mysql://u:p@h/db"
    })
    const shutdown = Duration.toSeconds(settings.server.shutdown_timeout)
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(preStop + shutdown + marginSeconds)
    // Liveness must hold while draining (it is /health, which keeps answering); readiness is /ready.
    expect(container.livenessProbe.httpGet.path).toBe("/health")
    expect(container.readinessProbe.httpGet.path).toBe("/ready")
    // The image's stop signal is the default SIGTERM, which tini passes on to node.
    expect(instructionsOf(parseDockerfile(readRepoFile("Dockerfile")).stages.at(-1)!, "STOPSIGNAL")).toEqual(
      []
    )
  })
})

describe("SIGTERM while a query is being served", () => {
  it("fails readiness at once, keeps serving the query to its end, refuses new work, exits 0", async () => {
    const shutdownSeconds = 10
    const server = await start(
      `server:\n  shutdown_timeout: ${shutdownSeconds}s\nsecurity:\n  rate_limit:\n    requests_per_minute: 100000\n    burst_size: 1000\n`
    )
    const stdout = readStdout(server)
    await waitHealthy(server)

    // A result much larger than the socket buffers, read by a client that pauses: the server is
    // held in the middle of writing it, as with a slow client on a big result.
    const rows = 300_000
    let received = ""
    let paused!: () => void
    const firstBytes = new Promise<void>((resolve) => {
      paused = resolve
    })
    let response!: http.IncomingMessage
    const finished = new Promise<{ status: number }>((resolve, reject) => {
      const req = http.request(
        `${server.url}/v1/instances/default/query?format=csv`,
        {
          method: "POST",
          agent: false,
          headers: { "x-api-key": "ops-key", "content-type": "application/json" }
        },
        (res) => {
          response = res
          res.once("data", (chunk: Buffer) => {
            received += chunk.toString()
            res.pause()
            paused()
            res.on("data", (more: Buffer) => {
              received += more.toString()
            })
          })
          res.on("end", () => resolve({ status: res.statusCode ?? 0 }))
          res.on("error", reject)
        }
      )
      req.on("error", reject)
      req.end(JSON.stringify({ query: `SELECT range AS n, repeat('x', 200) AS pad FROM range(${rows})` }))
    })
    await firstBytes

    const stoppedAt = Date.now()
    server.child.kill("SIGTERM")
    const { answer: ready, afterMs } = await readinessAfterStop(server, stoppedAt)
    expect(ready.status).toBe(503)
    expect(JSON.parse(ready.body)).toEqual({ status: "not_ready", error: "shutting down" })
    expect(afterMs).toBeLessThan(1_000)

    // Still alive (liveness holds), new work is turned away, and the query is still open.
    expect((await request(`${server.url}/health`)).status).toBe(200)
    const refused = await request(`${server.url}/v1/instances/default/query`, { body: { query: "SELECT 1" } })
    expect(refused.status).toBe(503)
    expect(JSON.parse(refused.body)).toMatchObject({ code: "shutting_down" })
    expect(refused.headers.connection).toBe("close")
    expect(server.child.exitCode).toBeNull()

    response.resume()
    expect((await finished).status).toBe(200)
    // RFC 4180: CRLF line ends.
    const lines = received.trimEnd().split("\r\n")
    expect(lines[0]).toBe("n,pad")
    expect(lines.length).toBe(rows + 1)
    expect(lines.at(-1)).toBe(`${rows - 1},${"x".repeat(200)}`)

    expect(await server.exited).toBe(0)
    expect(Date.now() - stoppedAt).toBeLessThan(shutdownSeconds * 1000)
    const log = jsonLines(stdout())
    const messages = log.map((line) => line.message)
    expect(messages).toEqual(expect.arrayContaining(["draining", "stopped serving"]))
    expect(messages).not.toContain("shutdown timeout reached; interrupting running queries")
    expect(log.find((line) => line.message === "query executed")).toMatchObject({ rows_returned: rows })
  })

  it("interrupts a query still running at shutdown_timeout, answers it 503, and exits 0", async () => {
    const server = await start("server:\n  shutdown_timeout: 2s\nquery:\n  timeout: 10m\n")
    const stdout = readStdout(server)
    await waitHealthy(server)
    const endless = request(`${server.url}/v1/instances/default/query`, {
      body: { query: "SELECT count(*) FROM range(1000000000000) a" }
    })
    // Running, as the running-queries list says.
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      const running = JSON.parse((await request(`${server.url}/v1/queries`)).body) as {
        queries: Array<unknown>
      }
      if (running.queries.length > 0) break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const stoppedAt = Date.now()
    server.child.kill("SIGTERM")
    const { answer: ready, afterMs } = await readinessAfterStop(server, stoppedAt)
    expect(ready.status).toBe(503)
    expect(afterMs).toBeLessThan(1_000)
    const answer = await endless
    expect(answer.status).toBe(503)
    expect(JSON.parse(answer.body)).toMatchObject({ code: "shutting_down" })
    expect(await server.exited).toBe(0)
    // The drain deadline, then a last second for the interrupted queries to answer.
    expect(Date.now() - stoppedAt).toBeLessThan(2_000 + lastWordsMillis + 1_500)
    expect(jsonLines(stdout()).map((line) => line.message)).toContain(
      "shutdown timeout reached; interrupting running queries"
    )
  })
})

describe("a stdout nobody reads", () => {
  it("never holds up a request: lines beyond the buffer are dropped, counted, and reported", async () => {
    const server = await start(
      "audit:\n  log_query_text: true\nsecurity:\n  rate_limit:\n    requests_per_minute: 1000000\n    burst_size: 100000\n"
    )
    await waitHealthy(server)
    // Nothing reads the server's stdout now: the pipe fills after a few lines. Each audit line
    // carries its ~10 kB query, so these requests log far more than the writer may hold (8 MB).
    const padding = "x".repeat(10_000)
    const total = 1_200
    let next = 0
    const statuses: Array<number> = []
    const worker = async () => {
      while (next < total) {
        const i = next++
        const started = Date.now()
        const answer = await request(`${server.url}/v1/instances/default/query`, {
          body: { query: `SELECT ${i} AS i, length('${padding}') AS n` }
        })
        statuses.push(answer.status)
        expect(Date.now() - started).toBeLessThan(5_000)
      }
    }
    await Promise.all(Array.from({ length: 8 }, worker))
    expect(statuses.filter((status) => status === 200).length).toBe(total)
    // A probe still answers at once while stdout is stuck.
    expect((await request(`${server.url}/ready`)).status).toBe(200)

    // Someone reads again: the queued lines arrive, then the count of those that were dropped.
    const stdout = readStdout(server)
    const deadline = Date.now() + 20_000
    while (!stdout().includes('"log lines dropped"') && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50))
    server.child.kill("SIGTERM")
    expect(await server.exited).toBe(0)

    const lines = jsonLines(stdout())
    const dropped = lines
      .filter((line) => line.message === "log lines dropped")
      .reduce((sum, line) => sum + Number(line.dropped), 0)
    expect(lines.find((line) => line.message === "log lines dropped")).toMatchObject({ level: "warn" })
    expect(dropped).toBeGreaterThan(0)
    const audited = lines.filter((line) => line.message === "query executed")
    expect(audited.length).toBeGreaterThan(0)
    for (const line of audited)
      expect(String(line.query)).toMatch(/^SELECT \d+ AS i, length\('x{10000}'\) AS n$/)
    // Every request is either in the log or in the dropped count (probes and others come on top).
    expect(audited.length + dropped).toBeGreaterThanOrEqual(total)
  }, 120_000)
})
