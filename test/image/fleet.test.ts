// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is the config file's own syntax
import { randomInt } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { writeSalesFile } from "../support/DuckDBFiles.js"
import { tempDir } from "../support/Process.js"
import { type RedisServer, redisInstalled, startRedis } from "../support/Redis.js"
import { apiKey, type Container, removeAll, runContainer, skipReason, waitHealthy } from "./containers.js"
import { podman } from "./podman.js"

/**
 * Two containers of the image sharing one Redis (on the machine, on a free loopback port: the
 * containers share the host's network) and one read-only directory of DuckDB files.
 */

if (skipReason === undefined && !redisInstalled) {
  if (process.env.CI === "true")
    throw new Error("image fleet tests cannot run in CI: redis-server is not installed")
  console.log("SKIP image fleet tests: redis-server is not installed (apt-get install -y redis-server)")
}

const redisPassword = "image-fleet-redis-pw"

describe.skipIf(skipReason !== undefined || !redisInstalled)(
  "two containers of the image sharing Redis",
  () => {
    let redis: RedisServer
    let data: string
    const replicas: Array<Container> = []

    beforeAll(async () => {
      redis = await startRedis({ password: redisPassword })
      data = tempDir("image-fleet")
      fs.chmodSync(data, 0o755)
      await writeSalesFile(path.join(data, "sales.duckdb"))
      fs.chmodSync(path.join(data, "sales.duckdb"), 0o644)
      const config = [
        "environment: production",
        "server:",
        '  trusted_proxies: ["127.0.0.1/32"]',
        "duckdb:",
        '  file_roots: ["/data"]',
        "security:",
        "  rate_limit: { requests_per_minute: 6, burst_size: 4 }",
        "state:",
        '  redis_url: "${REDIS_URL}"',
        ""
      ].join("\n")
      for (let i = 0; i < 2; i++) {
        replicas.push(
          await runContainer({
            config,
            env: { REDIS_URL: redis.url },
            extraArgs: ["-v", `${data}:/data:ro`]
          })
        )
      }
      await Promise.all(replicas.map((replica) => waitHealthy(replica)))
    })

    afterAll(async () => {
      await removeAll()
      await redis?.dispose()
      if (data) fs.rmSync(data, { recursive: true, force: true })
    })

    /** Each call from its own client address (the replicas trust 127.0.0.1 to say so). */
    const call = async (
      replica: Container,
      method: string,
      route: string,
      body?: unknown,
      client?: string
    ) => {
      const response = await fetch(`${replica.url}${route}`, {
        method,
        headers: {
          "x-api-key": apiKey,
          "x-forwarded-for": client ?? `198.18.${randomInt(256)}.${randomInt(1, 255)}`,
          ...(body === undefined ? {} : { "content-type": "application/json" })
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
      const text = await response.text()
      return { status: response.status, body: text === "" ? undefined : (JSON.parse(text) as any) }
    }

    const createWithSales = async (replica: Container) => {
      const created = await call(replica, "POST", "/v1/instances", {})
      expect(created.status).toBe(201)
      const id = created.body.id as string
      const attached = await call(replica, "POST", `/v1/instances/${id}/databases`, {
        type: "duckdb",
        alias: "shop",
        connectionString: "/data/sales.duckdb"
      })
      expect(attached.status, JSON.stringify(attached.body)).toBe(201)
      return id
    }

    const total = (replica: Container, id: string) =>
      call(replica, "POST", `/v1/instances/${id}/query`, {
        query: "SELECT sum(amount)::DOUBLE FROM shop.sales"
      })

    it("serves on one container an instance created through the other", async () => {
      const id = await createWithSales(replicas[0]!)
      const answer = await total(replicas[1]!, id)
      expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      expect(answer.body.rows).toEqual([[242.75]])
    })

    it("holds one rate limit per client across both containers", async () => {
      const client = `198.19.${randomInt(256)}.${randomInt(1, 255)}`
      const statuses: Array<number> = []
      for (let i = 0; i < 10; i++)
        statuses.push((await call(replicas[i % 2]!, "GET", "/v1/instances", undefined, client)).status)
      // burst 4 + the one token a full bucket starts with: 5 in total, not 5 per container.
      expect(statuses.filter((status) => status === 200)).toHaveLength(5)
      expect(statuses.slice(5)).toEqual([429, 429, 429, 429, 429])
    })

    it("loses nothing when one container is killed (podman kill)", async () => {
      const id = await createWithSales(replicas[1]!)
      expect((await total(replicas[1]!, id)).status).toBe(200)
      await podman(["kill", replicas[1]!.name])
      const answer = await total(replicas[0]!, id)
      expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      expect(answer.body.rows).toEqual([[242.75]])
      const listed = await call(replicas[0]!, "GET", `/v1/instances/${id}/databases`)
      expect(listed.body).toEqual({ databases: [{ alias: "shop", type: "duckdb" }] })
    })
  }
)
