// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is the config file's own syntax
import * as fs from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { findBinaries, type Postgres, startPostgres } from "../attach/upstreams.js"
import { tempDir } from "../support/Process.js"
import { apiKey, query, removeAll, runContainer, skipReason, waitHealthy } from "./containers.js"
import { podman } from "./podman.js"

/**
 * What an operator does with the image: mount a config read-only, attach PostgreSQL, stop it, and
 * start it without keys by mistake.
 */

const binaries = findBinaries()
/** PostgreSQL comes with the upstream tests' packages: one line and a skip here, a failure in CI. */
const postgresSkipped = (() => {
  if (skipReason !== undefined || !("reason" in binaries)) return skipReason !== undefined
  if (process.env.CI === "true")
    throw new Error(`image tests cannot attach PostgreSQL in CI: ${binaries.reason}`)
  console.log(`SKIP image tests with PostgreSQL: ${binaries.reason}`)
  return true
})()

describe.skipIf(skipReason !== undefined)("the image, operated", () => {
  afterAll(removeAll)

  it("refuses to start without API_KEY and ENCRYPTION_KEY, saying why, unless development is asked for", async () => {
    const refused = await runContainer({ env: { API_KEY: "", ENCRYPTION_KEY: "" } })
    expect(await refused.wait()).not.toBe(0)
    const said = await refused.logs()
    expect(said).toContain("API_KEY: required in production")
    expect(said).toContain("ENCRYPTION_KEY: required in production")
    expect(said).toContain("PONDPILOT_ENVIRONMENT=development")

    const development = await runContainer({
      env: { API_KEY: "", ENCRYPTION_KEY: "", PONDPILOT_ENVIRONMENT: "development" }
    })
    await waitHealthy(development)
    expect(await development.logs()).toMatch(
      /Development API key \(generated, valid until restart\): ppk_dev_/
    )
  })

  it("drains on SIGTERM: the query in flight finishes, the container exits 0 within shutdown_timeout", async () => {
    const server = await runContainer({
      config: ["environment: production", "server:", "  shutdown_timeout: 10s", ""].join("\n")
    })
    await waitHealthy(server)
    // About two seconds of work, however busy this machine is: in flight when the signal arrives,
    // well inside the drain's 10 s. Measured on a small run first.
    const count = (rows: number) => `SELECT count(*)::INT AS n FROM range(${rows}) t(i) WHERE i % 7 = 3`
    const calibrateStart = Date.now()
    expect((await query(server, count(20_000_000))).status).toBe(200)
    const rows = Math.round((20_000_000 * 2_000) / Math.max(50, Date.now() - calibrateStart))
    const sql = count(rows)
    const inFlight = query(server, sql)
    await new Promise((resolve) => setTimeout(resolve, 300))
    const stoppedAt = Date.now()
    // podman stop sends SIGTERM to tini, which passes it on; -t above the drain so nothing is killed.
    await podman(["stop", "-t", "30", server.name], { timeoutMs: 60_000 })
    const took = Date.now() - stoppedAt
    const answer = await inFlight
    expect(answer.status, `${JSON.stringify(answer.body)} after ${took} ms\n${await server.logs()}`).toBe(200)
    expect(answer.body.rows).toEqual([[Math.floor((rows - 4) / 7) + 1]])
    expect(await server.inspect("{{.State.ExitCode}}")).toBe("0")
    expect(took).toBeLessThan(10_000 + 2_000)
    expect(await server.logs()).toContain(`"message":"draining","in_flight":1`)
  })

  describe.skipIf(postgresSkipped)("with a PostgreSQL on the machine", () => {
    let postgres: Postgres
    let root: string

    beforeAll(async () => {
      if ("reason" in binaries) return
      root = tempDir("image-pg")
      fs.chmodSync(root, 0o755) // PostgreSQL runs as its own user
      postgres = await startPostgres(binaries.binaries, root)
      await postgres.sql("postgres", "CREATE DATABASE shop")
      await postgres.sql(
        "shop",
        "CREATE TABLE orders (id int primary key, amount numeric(10,2)); INSERT INTO orders VALUES (1, 12.50), (2, 30.00);" +
          "CREATE ROLE reader LOGIN PASSWORD 'reader-pw'; GRANT SELECT ON orders TO reader;"
      )
    }, 120_000)

    afterAll(async () => {
      await postgres?.stop()
      if (root) fs.rmSync(root, { recursive: true, force: true })
    })

    it("reads a config mounted read-only at /config/config.yaml and attaches PostgreSQL from it", async () => {
      const server = await runContainer({
        config: [
          "environment: production",
          "duckdb:",
          "  attached_databases:",
          "    - alias: shop",
          "      type: postgres",
          '      connection_string: "${SHOP_URL}"',
          ""
        ].join("\n"),
        env: { SHOP_URL: `postgresql://reader:reader-pw@127.0.0.1:${postgres.port}/shop` }
      })
      await waitHealthy(server)
      expect(await server.inspect("{{range .Mounts}}{{.Destination}} {{.RW}}{{end}}")).toBe(
        "/config/config.yaml false"
      )
      const ready = await fetch(`${server.url}/ready`)
      expect(await ready.json()).toMatchObject({ status: "ready", databases: 1 })
      const answer = await query(server, "SELECT sum(amount)::DOUBLE AS total FROM shop.public.orders")
      expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      expect(answer.body.rows).toEqual([[42.5]])
      // The password never reaches the logs.
      expect(await server.logs()).not.toContain("reader-pw")
    })

    it("attaches PostgreSQL through the API from inside the container", async () => {
      const server = await runContainer({ config: "environment: production\n" })
      await waitHealthy(server)
      const call = (route: string, body: unknown) =>
        fetch(`${server.url}${route}`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": apiKey },
          body: JSON.stringify(body)
        }).then(async (response) => ({ status: response.status, body: (await response.json()) as any }))
      const created = await call("/v1/instances", {})
      expect(created.status).toBe(201)
      const id = created.body.id as string
      const attached = await call(`/v1/instances/${id}/databases`, {
        type: "postgres",
        alias: "pg",
        connectionString: `postgresql://reader:reader-pw@127.0.0.1:${postgres.port}/shop`
      })
      expect(attached.status, JSON.stringify(attached.body)).toBe(201)
      const answer = await query(server, "SELECT count(*)::INT AS n FROM pg.public.orders", id)
      expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      expect(answer.body.rows).toEqual([[2]])
    })
  })
})
