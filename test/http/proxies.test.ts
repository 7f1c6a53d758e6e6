import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { expectError } from "../support/Hostile.js"
import { apiKey, type RunningServer, startServer, testSettings } from "../support/TestServer.js"

/**
 * Which address a request is attributed to, seen from outside: the rate-limit bucket it lands in and
 * the `client_ip` of its audit line. Tests reach the server from 127.0.0.1.
 */
const rateLimit = { requests_per_minute: 60, burst_size: 2 }
let direct: RunningServer
let behindProxy: RunningServer

beforeAll(async () => {
  // Trusts a proxy network, but not the loopback address the tests connect from.
  direct = await startServer(
    testSettings({ server: { trusted_proxies: ["10.0.0.0/8"] }, security: { rate_limit: rateLimit } })
  )
  // The tests' own address is a trusted proxy, as is the 10/8 network behind it.
  behindProxy = await startServer(
    testSettings({
      server: { trusted_proxies: ["127.0.0.1/32", "10.0.0.0/8"] },
      security: { rate_limit: rateLimit }
    })
  )
})
afterAll(async () => {
  await direct.dispose()
  await behindProxy.dispose()
})

const get = (server: RunningServer, headers: Record<string, string>) =>
  fetch(`${server.url}/v1/instances`, { headers: { "x-api-key": apiKey, ...headers } })

const settle = () => new Promise((resolve) => setTimeout(resolve, 50))

const clientIpOf = async (server: RunningServer, response: Response) => {
  const requestId = response.headers.get("x-request-id")
  await response.body?.cancel()
  await settle()
  const line = server.logLines
    .flatMap((chunk) => chunk.split("\n"))
    .filter((text) => text !== "")
    .map((text) => JSON.parse(text) as Record<string, unknown>)
    .find((entry) => entry.request_id === requestId)
  return line?.client_ip
}

/** Statuses of `count` requests sent one after another. */
const statuses = async (count: number, send: (index: number) => Promise<Response>) => {
  const result: Array<number> = []
  for (let index = 0; index < count; index++) {
    const response = await send(index)
    result.push(response.status)
    if (response.status === 429) {
      expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
      await expectError(response, 429, "rate_limited")
    } else await response.body?.cancel()
  }
  return result
}

describe("a peer that is not a trusted proxy", () => {
  it("is its own socket address: X-Forwarded-For and X-Real-IP are ignored", async () => {
    const forged = await get(direct, { "x-forwarded-for": "203.0.113.50", "x-real-ip": "203.0.113.51" })
    expect(await clientIpOf(direct, forged)).toBe("127.0.0.1")
  })

  it("cannot get a fresh rate-limit bucket by inventing forwarding headers", async () => {
    // One request was spent above; burst 2 allows three in all, then 429 whatever the headers say.
    const result = await statuses(4, (index) =>
      get(direct, { "x-forwarded-for": `198.51.100.${index}`, "x-real-ip": `192.0.2.${index}` })
    )
    expect(result).toEqual([200, 200, 429, 429])
  })
})

describe("behind trusted proxies", () => {
  it("takes the right-most untrusted hop of X-Forwarded-For", async () => {
    const response = await get(behindProxy, {
      "x-forwarded-for": "192.0.2.66, 203.0.113.9, 10.1.2.3, 10.4.5.6"
    })
    expect(await clientIpOf(behindProxy, response)).toBe("203.0.113.9")
  })

  it("buckets by that hop, whatever a client forged to its left", async () => {
    const result = await statuses(4, (index) =>
      get(behindProxy, { "x-forwarded-for": `198.18.0.${index}, 203.0.113.10, 10.0.0.1` })
    )
    expect(result).toEqual([200, 200, 200, 429])
    // Another client behind the same proxies has a bucket of its own.
    expect((await get(behindProxy, { "x-forwarded-for": "203.0.113.11, 10.0.0.1" })).status).toBe(200)
  })

  it("stops at a malformed hop and uses the last address vouched for", async () => {
    const response = await get(behindProxy, { "x-forwarded-for": "203.0.113.12, not-an-ip, 10.9.9.9" })
    expect(await clientIpOf(behindProxy, response)).toBe("10.9.9.9")
  })

  it("believes X-Real-IP from a trusted peer when there is no X-Forwarded-For", async () => {
    const response = await get(behindProxy, { "x-real-ip": "203.0.113.13" })
    expect(await clientIpOf(behindProxy, response)).toBe("203.0.113.13")
    const garbage = await get(behindProxy, { "x-real-ip": "203.0.113.13; drop table" })
    expect(await clientIpOf(behindProxy, garbage)).toBe("127.0.0.1")
  })

  it("never rate-limits the probes", async () => {
    for (let index = 0; index < 6; index++) {
      const health = await fetch(`${behindProxy.url}/health`, {
        headers: { "x-forwarded-for": "203.0.113.10, 10.0.0.1" }
      })
      expect(health.status).toBe(200)
      const ready = await fetch(`${behindProxy.url}/ready`, {
        headers: { "x-forwarded-for": "203.0.113.10, 10.0.0.1" }
      })
      expect(ready.status).toBe(200)
    }
  })
})
