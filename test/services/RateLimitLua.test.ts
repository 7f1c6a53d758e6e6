import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { createServer } from "node:net"
import { setTimeout as sleep } from "node:timers/promises"
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { gcraLuaScript } from "../../src/services/RateLimitLua.js"
import { type GcraPolicy, gcraPolicy, gcraStep } from "../../src/services/RateLimitStore.js"

const redisInstalled = spawnSync("redis-server", ["--version"]).status === 0
if (!redisInstalled) {
  console.log("SKIP RateLimitLua: redis-server is not installed (apt-get install -y redis-server)")
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()))
    })
  })

describe.skipIf(!redisInstalled)("GCRA Lua script on a real redis-server", () => {
  let server: ChildProcess | undefined
  let redis: Redis

  beforeAll(async () => {
    const port = await freePort()
    server = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: "ignore" }
    )
    redis = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0 })
    // Refused connections while the server starts are expected; each attempt's failure is handled below.
    redis.on("error", () => undefined)
    for (let attempt = 0; ; attempt++) {
      try {
        await redis.connect()
        await redis.ping()
        break
      } catch (error) {
        if (attempt > 50) throw error
        redis.disconnect()
        await sleep(100)
      }
    }
  })

  afterAll(async () => {
    await redis?.quit().catch(() => undefined)
    server?.kill("SIGTERM")
  })

  const run = async (key: string, now: number | "", policy: GcraPolicy) => {
    const [allowed, wait] = (await redis.eval(
      gcraLuaScript,
      1,
      key,
      String(now),
      String(policy.emissionIntervalMicros),
      String(policy.toleranceMicros)
    )) as [number, number]
    return { allowed: allowed === 1, wait }
  }

  it("decides exactly like the in-memory algorithm on random traffic", async () => {
    // Intervals of seconds: the script's real-time PX expiry cannot fire during the test.
    for (const [rpm, burst] of [
      [7, 3],
      [1, 0],
      [13, 5]
    ] as const) {
      const policy = gcraPolicy(rpm, burst)
      const model = new Map<string, number>()
      let seed = rpm * 1000 + burst
      const random = () => {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
        return seed / 2 ** 31
      }
      let now = 1_900_000_000_000_000
      let refusals = 0
      for (let i = 0; i < 300; i++) {
        now += Math.floor(random() ** 3 * policy.emissionIntervalMicros)
        const key = `eq:${rpm}:${burst}:${Math.floor(random() * 3)}`
        const expected = gcraStep(model.get(key), now, policy)
        const actual = await run(key, now, policy)
        if (expected.allowed) {
          model.set(key, expected.tat)
          expect(actual).toEqual({ allowed: true, wait: 0 })
          expect(await redis.get(key)).toBe(String(expected.tat))
          const ttl = await redis.pttl(key)
          expect(ttl).toBeGreaterThan(0)
          expect(ttl).toBeLessThanOrEqual(Math.ceil((expected.tat - now) / 1000))
        } else {
          refusals++
          expect(actual).toEqual({ allowed: false, wait: expected.waitMicros })
        }
      }
      expect(refusals).toBeGreaterThan(30)
    }
  })

  it("leaves state untouched on a refusal", async () => {
    const policy = gcraPolicy(6, 1)
    const now = 1_900_000_000_000_000
    await run("untouched", now, policy)
    await run("untouched", now, policy)
    const before = await redis.get("untouched")
    expect(await run("untouched", now + 1, policy)).toEqual({ allowed: false, wait: 9_999_999 })
    expect(await redis.get("untouched")).toBe(before)
  })

  it("uses the Redis server's clock when no time is given", async () => {
    const policy = gcraPolicy(60, 2)
    const decisions = []
    for (let i = 0; i < 4; i++) decisions.push(await run("server-clock", "", policy))
    expect(decisions.slice(0, 3)).toEqual([
      { allowed: true, wait: 0 },
      { allowed: true, wait: 0 },
      { allowed: true, wait: 0 }
    ])
    expect(decisions[3]!.allowed).toBe(false)
    expect(decisions[3]!.wait).toBeGreaterThan(0)
    expect(decisions[3]!.wait).toBeLessThanOrEqual(1_000_000)
  })

  it("lets a key expire when its state becomes worthless", async () => {
    const policy = gcraPolicy(600_000, 0) // T = 100 µs: PX of 1 ms
    expect((await run("short-lived", "", policy)).allowed).toBe(true)
    expect(await redis.pttl("short-lived")).toBeLessThanOrEqual(1)
    await sleep(20)
    expect(await redis.exists("short-lived")).toBe(0)
  })
})
