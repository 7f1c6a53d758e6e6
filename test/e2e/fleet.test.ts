import { randomInt } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { Effect, Option, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { apiKeyPrincipal } from "../../src/domain/Principal.js"
import { redisKeys } from "../../src/services/InstanceStoreLua.js"
import { makeRedisInstanceStore } from "../../src/services/RedisInstanceStore.js"
import { makeSecretBox } from "../../src/services/SecretBox.js"
import { connectRedis } from "../../src/services/SharedState.js"
import { writeSalesFile } from "../support/DuckDBFiles.js"
import { capturedLogger } from "../support/Logs.js"
import {
  ensureBuilt,
  freePort,
  type ServerProcess,
  spawnServer,
  tempDir,
  waitUntilHealthy
} from "../support/Process.js"
import { type RedisServer, skipWithoutRedis, startRedis } from "../support/Redis.js"
import { type RoundRobin, startRoundRobin } from "../support/RoundRobin.js"

/**
 * Three replicas of the built server (`sh bin/pondpilot-proxy`), one config, one ENCRYPTION_KEY,
 * one Redis, one directory of DuckDB files, and a round-robin balancer in front: the fleet behaves
 * as one service.
 */

const skip = skipWithoutRedis("fleet of replicas")

const apiKey = "fleet-key-0123456789"
const encryptionKey = "fleet-encryption-key-0123456789abcdef"
const redisPassword = "redis-pass-QQQQ-7777"
const pgPassword = "pg-pass-ZZZZ-9999"
const principal = apiKeyPrincipal(apiKey).id

let redis: RedisServer
let roots: string
let salesFile: string
const replicas: Array<ServerProcess> = []
let balancer: RoundRobin

beforeAll(async () => {
  if (skip) return
  ensureBuilt()
  redis = await startRedis({ password: redisPassword })
  const dir = tempDir("fleet")
  roots = path.join(dir, "data")
  fs.mkdirSync(roots)
  salesFile = path.join(roots, "sales.duckdb")
  await writeSalesFile(salesFile)
  const configFile = path.join(dir, "config.yaml")
  fs.writeFileSync(
    configFile,
    [
      "server:",
      "  shutdown_timeout: 2s",
      '  trusted_proxies: ["127.0.0.1/32"]',
      "duckdb:",
      "  max_instances: 50",
      `  file_roots: ["${roots}"]`,
      "  settings: { threads: 1, memory_limit: 256MB }",
      "  connection_pool: { min_connections: 1, max_connections: 4 }",
      "security:",
      "  rate_limit: { requests_per_minute: 6, burst_size: 4 }",
      "state:",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: ${VAR} is the config file's own syntax
      '  redis_url: "${REDIS_URL}"'
    ].join("\n")
  )
  for (let i = 0; i < 3; i++) {
    const port = await freePort()
    replicas.push(
      spawnServer("sh", ["bin/pondpilot-proxy"], {
        env: {
          CONFIG_FILE: configFile,
          PORT: String(port),
          API_KEY: apiKey,
          ENCRYPTION_KEY: encryptionKey,
          REDIS_URL: redis.url
        },
        port
      })
    )
  }
  await Promise.all(replicas.map((replica) => waitUntilHealthy(replica, 60_000)))
  balancer = await startRoundRobin(() => replicas.map((replica) => replica.url))
}, 120_000)

afterAll(async () => {
  await balancer?.close()
  await Promise.all(replicas.map((replica) => replica.stop("SIGKILL")))
  await redis?.dispose()
}, 30_000)

/** Every client gets its own address (behind the trusted balancer), so only the rate-limit test meets the limit. */
const randomClient = () => `198.18.${randomInt(256)}.${randomInt(1, 255)}`

interface Answer {
  readonly status: number
  readonly body: any
}

const call = async (
  base: string,
  method: string,
  route: string,
  body?: unknown,
  client: string = randomClient()
): Promise<Answer> => {
  const response = await fetch(`${base}${route}`, {
    method,
    headers: {
      "x-api-key": apiKey,
      "x-forwarded-for": client,
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  return { status: response.status, body: text === "" ? undefined : JSON.parse(text) }
}

const r0 = () => replicas[0]!.url
const r1 = () => replicas[1]!.url
const r2 = () => replicas[2]!.url

const createInstance = async (base: string) => {
  const created = await call(base, "POST", "/v1/instances", {})
  expect(created.status).toBe(201)
  return created.body.id as string
}

const attachSales = (base: string, id: string, alias = "shop") =>
  call(base, "POST", `/v1/instances/${id}/databases`, {
    type: "duckdb",
    alias,
    connectionString: salesFile
  })

const totalSales = (base: string, id: string, alias = "shop") =>
  call(base, "POST", `/v1/instances/${id}/query`, {
    query: `SELECT sum(amount)::DOUBLE AS total FROM ${alias}.sales`
  })

/** Polls until `check` holds; returns how long it took. */
const within = async (millis: number, what: string, check: () => Promise<boolean>): Promise<number> => {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > millis) throw new Error(`${what}: not within ${millis} ms`)
    await sleep(25)
  }
  return Date.now() - started
}

describe.skipIf(skip)("a fleet of three replicas sharing Redis", () => {
  it("serves on every replica an instance created on one, its DuckDB file attached on another", async () => {
    const id = await createInstance(r0())
    expect((await attachSales(r1(), id)).status).toBe(201)
    const answer = await totalSales(r2(), id)
    expect(answer.status).toBe(200)
    expect(answer.body.rows).toEqual([[242.75]])
    // A replica that built its copy before the attach learns of it within the propagation bound.
    for (let i = 0; i < 3; i++) {
      await within(1_500, "the attach reaches every replica", async () => {
        const rows = (await totalSales(balancer.url, id)).body.rows
        return JSON.stringify(rows) === JSON.stringify([[242.75]])
      })
    }
    const listed = await call(r2(), "GET", "/v1/instances")
    expect(listed.body.instances.map((instance: { id: string }) => instance.id)).toContain(id)
    const databases = await call(r0(), "GET", `/v1/instances/${id}/databases`)
    expect(databases.body).toEqual({ databases: [{ alias: "shop", type: "duckdb" }] })
  })

  it("answers 404 on the other replicas as soon as one deletes the instance", async () => {
    const id = await createInstance(r0())
    await attachSales(r0(), id)
    expect((await totalSales(r1(), id)).status).toBe(200)
    expect((await totalSales(r2(), id)).status).toBe(200)
    expect((await call(r0(), "DELETE", `/v1/instances/${id}`)).status).toBe(204)
    // Pub/sub makes it immediate in practice; the version check bounds it at one second regardless.
    const took = await within(1_500, "404 on the other replicas", async () => {
      const answers = await Promise.all([totalSales(r1(), id), totalSales(r2(), id)])
      return answers.every((answer) => answer.status === 404)
    })
    expect(took).toBeLessThan(1_500)
    expect((await call(r1(), "GET", `/v1/instances/${id}`)).body.code).toBe("not_found")
  })

  it("propagates a detach: the database is gone on every replica", async () => {
    const id = await createInstance(r0())
    await attachSales(r0(), id)
    expect((await totalSales(r1(), id)).status).toBe(200)
    expect((await call(r2(), "DELETE", `/v1/instances/${id}/databases/shop`)).status).toBe(204)
    await within(1_500, "detach seen on r1", async () => (await totalSales(r1(), id)).status === 400)
    expect((await totalSales(r1(), id)).body.code).toBe("sql_error")
    expect((await call(r1(), "GET", `/v1/instances/${id}/databases`)).body).toEqual({ databases: [] })
    // And back again, from yet another replica.
    expect((await attachSales(r1(), id, "again")).status).toBe(201)
    await within(1_500, "attach seen on r0", async () => (await totalSales(r0(), id, "again")).status === 200)
  })

  it("holds one rate limit per client across the replicas: burst + 1 in total, not per replica", async () => {
    const client = randomClient()
    const statuses: Array<number> = []
    for (let i = 0; i < 12; i++)
      statuses.push((await call(balancer.url, "GET", "/v1/instances", undefined, client)).status)
    expect(statuses.filter((status) => status === 200)).toHaveLength(5)
    expect(statuses.filter((status) => status === 429)).toHaveLength(7)
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200])
  })

  it("keeps no plaintext connection string in Redis", async () => {
    const id = await createInstance(r0())
    await attachSales(r0(), id)
    // PostgreSQL cannot attach here (no extension): refused before anything is stored.
    const pg = await call(r1(), "POST", `/v1/instances/${id}/databases`, {
      type: "postgres",
      alias: "pg",
      connectionString: `postgresql://reader:${pgPassword}@127.0.0.1:5432/app`
    })
    expect(pg.status).toBe(503)
    expect(pg.body.code).toBe("extension_unavailable")

    // A postgres database stored as a replica would store it, through the InstanceStore API.
    const postgresUrl = `postgresql://reader:${pgPassword}@db.internal:5432/app`
    const storedId = `inst_direct${randomInt(1_000_000)}`
    const opened = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const box = yield* makeSecretBox({
            current: Redacted.make(encryptionKey),
            previous: [],
            kdf: "pbkdf2"
          })
          const store = yield* Effect.flatMap(
            connectRedis(Redacted.make(redis.url)),
            makeRedisInstanceStore
          ).pipe(Effect.provide(capturedLogger))
          const connectionString = yield* box.seal(Redacted.make(postgresUrl))
          yield* store.create(
            {
              id: storedId,
              owner: principal,
              createdAt: Date.now(),
              settings: { threads: 1, memoryLimitBytes: 256_000_000 },
              databases: [{ alias: "warehouse", type: "postgres", source: "api", connectionString }]
            },
            50
          )
          const read = Option.getOrThrow(yield* store.get(storedId))
          return yield* box.open(read.databases[0]!.connectionString)
        })
      )
    )
    expect(Redacted.value(opened)).toBe(postgresUrl)
    // The replicas read what the API stored: same format, same key.
    expect((await call(r2(), "GET", `/v1/instances/${storedId}/databases`)).body).toEqual({
      databases: [{ alias: "warehouse", type: "postgres" }]
    })
    // A replica opens the sealed string to attach it: postgres cannot load here, which it says as
    // extension_unavailable, not as a 500 of a value it could not decrypt.
    const attachOnUse = await call(r1(), "POST", `/v1/instances/${storedId}/query`, { query: "SELECT 1" })
    expect(attachOnUse.body.code).toBe("extension_unavailable")

    const everything = await dumpRedis()
    expect(everything).toContain(`${redisKeys.instancePrefix}${id}`)
    expect(everything).toContain(`${redisKeys.instancePrefix}${storedId}`)
    expect(everything).toMatch(/v1\.pbkdf2\./)
    for (const secret of [pgPassword, "postgresql://", salesFile, roots, encryptionKey, apiKey]) {
      expect(everything, secret).not.toContain(secret)
    }
    for (const replica of replicas) {
      for (const secret of [redisPassword, pgPassword, encryptionKey]) {
        expect(replica.stdout() + replica.stderr(), secret).not.toContain(secret)
      }
    }
  })

  it("keeps serving a replica's instances after it is killed with SIGKILL", async () => {
    const id = await createInstance(r2())
    await attachSales(r2(), id)
    expect((await totalSales(r2(), id)).status).toBe(200)
    await replicas[2]!.stop("SIGKILL")
    expect((await totalSales(r0(), id)).body.rows).toEqual([[242.75]])
    expect((await totalSales(r1(), id)).body.rows).toEqual([[242.75]])
    for (let i = 0; i < 4; i++) expect((await totalSales(balancer.url, id)).status).toBe(200)
  })

  it("answers 503 while Redis is down, and recovers without restarting when it is back", async () => {
    const live = [r0(), r1()]
    const id = await createInstance(r0())
    await attachSales(r0(), id)
    expect((await totalSales(r1(), id)).status).toBe(200)
    await redis.save()
    await redis.stop()

    for (const base of live) {
      await within(
        3_000,
        "not ready without Redis",
        async () => (await fetch(`${base}/ready`)).status === 503
      )
      expect(await (await fetch(`${base}/ready`)).json()).toEqual({
        status: "not_ready",
        error: "state store unavailable"
      })
      const created = await call(base, "POST", "/v1/instances", {})
      expect(created.status).toBe(503)
      expect(created.body.code).toBe("store_unavailable")
      // A copy this replica built is trusted for at most a second without the store.
      await within(
        2_000,
        "503 on a copy without Redis",
        async () => (await totalSales(base, id)).status === 503
      )
      expect((await totalSales(base, id)).body.code).toBe("store_unavailable")
      // The shared instance is each replica's own: it needs no store (rate limits fail open).
      expect((await call(base, "POST", "/v1/instances/default/query", { query: "SELECT 1" })).status).toBe(
        200
      )
    }

    await redis.start()
    for (const base of live) {
      await within(10_000, "ready again", async () => (await fetch(`${base}/ready`)).status === 200)
    }
    expect((await totalSales(r1(), id)).body.rows).toEqual([[242.75]])
    const fresh = await createInstance(r1())
    await attachSales(r0(), fresh)
    // r1 built its copy when it created the instance: it learns of the attach like any replica.
    await within(1_500, "attach seen on r1", async () => (await totalSales(r1(), fresh)).status === 200)
    expect((await call(r0(), "DELETE", `/v1/instances/${fresh}`)).status).toBe(204)
    await within(
      1_500,
      "404 after Redis came back",
      async () => (await totalSales(r1(), fresh)).status === 404
    )
    for (const replica of replicas.slice(0, 2)) {
      // Log lines reach this process through a pipe, a moment after the request they belong to.
      await within(2_000, "log lines", async () => replica.stdout().includes("rate limits are shared again"))
      const log = replica.stdout()
      expect(log).toContain("state store unavailable")
      expect(log).toContain("state store connected")
      expect(log.split("rate limits are per replica").length - 1).toBe(1)
    }
  }, 60_000)
})

/** Every key in Redis with its value, as text. */
const dumpRedis = async (): Promise<string> => {
  const out: Array<string> = []
  for (const key of await redis.client.keys("*")) {
    const type = await redis.client.type(key)
    const value =
      type === "hash"
        ? await redis.client.hgetall(key)
        : type === "zset"
          ? await redis.client.zrange(key, 0, -1, "WITHSCORES")
          : type === "set"
            ? await redis.client.smembers(key)
            : await redis.client.get(key)
    out.push(`${key} ${JSON.stringify(value)}`)
  }
  return out.join("\n")
}
