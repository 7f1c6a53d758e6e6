import { type JWTPayload, SignJWT } from "jose"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { expectError } from "../support/Hostile.js"
import { type RunningServer, startServer, testSettings } from "../support/TestServer.js"

/** `security.authentication.type: jwt` with `JWT_SECRET`, through the HTTP API and the real clock. */
const secret = "an-hs256-secret-for-the-http-tests-0123456789"
const secretBytes = new TextEncoder().encode(secret)
let server: RunningServer

beforeAll(async () => {
  server = await startServer(
    testSettings({ security: { authentication: { type: "jwt" } } }, { JWT_SECRET: secret })
  )
})
afterAll(() => server.dispose())

const nowSeconds = () => Math.floor(Date.now() / 1000)
const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url")

const sign = (claims: JWTPayload, options: { key?: Uint8Array; alg?: string } = {}) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? "HS256", typ: "JWT" })
    .sign(options.key ?? secretBytes)

const tokenFor = (sub: string) => sign({ sub, exp: nowSeconds() + 3600, iat: nowSeconds() })

const call = (path: string, token: string | undefined, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, {
    ...init,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      ...(init.headers as Record<string, string> | undefined)
    }
  })

const settle = () => new Promise((resolve) => setTimeout(resolve, 50))
const logLines = () =>
  server.logLines
    .flatMap((chunk) => chunk.split("\n"))
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>)

describe("a valid token", () => {
  it("is served, and its sub owns the instances it creates", async () => {
    const alice = await tokenFor("alice")
    const bob = await tokenFor("bob")
    const created = await call("/v1/instances", alice, { method: "POST", body: "{}" })
    expect(created.status).toBe(201)
    const { id } = (await created.json()) as { id: string }

    const query = await call(`/v1/instances/${id}/query`, alice, {
      method: "POST",
      body: JSON.stringify({ query: "SELECT 42 AS answer" })
    })
    expect(query.status).toBe(200)
    expect(((await query.json()) as { rows: unknown }).rows).toEqual([[42]])

    const aliceList = (await (await call("/v1/instances", alice)).json()) as {
      instances: Array<{ id: string }>
    }
    expect(aliceList.instances.map((instance) => instance.id)).toContain(id)
    const bobList = (await (await call("/v1/instances", bob)).json()) as { instances: Array<{ id: string }> }
    expect(bobList.instances.map((instance) => instance.id)).toEqual(["default"])
    await expectError(await call(`/v1/instances/${id}`, bob), 404, "not_found")
    await expectError(
      await call(`/v1/instances/${id}/query`, bob, {
        method: "POST",
        body: JSON.stringify({ query: "SELECT 1" })
      }),
      404,
      "not_found"
    )
    // A new token for the same subject is the same principal.
    expect((await call(`/v1/instances/${id}`, await tokenFor("alice"))).status).toBe(200)
    expect((await call(`/v1/instances/${id}`, alice, { method: "DELETE" })).status).toBe(204)
  })
})

describe("refused tokens", () => {
  const header = (value: object) => base64url(value)
  const cases: ReadonlyArray<{ name: string; reason: string; token: () => Promise<string | undefined> }> = [
    { name: "no Authorization header", reason: "missing", token: async () => undefined },
    {
      name: "expired",
      reason: "expired",
      token: () => sign({ sub: "alice", exp: nowSeconds() - 3600, iat: nowSeconds() - 7200 })
    },
    {
      name: "nbf in the future",
      reason: "not_yet_valid",
      token: () => sign({ sub: "alice", exp: nowSeconds() + 7200, nbf: nowSeconds() + 3600 })
    },
    {
      name: "signed with another secret",
      reason: "invalid",
      token: () =>
        sign(
          { sub: "alice", exp: nowSeconds() + 3600 },
          { key: new TextEncoder().encode("another-secret-of-enough-length-0123456789") }
        )
    },
    {
      name: "alg: none",
      reason: "algorithm",
      token: async () =>
        `${header({ alg: "none", typ: "JWT" })}.${base64url({ sub: "alice", exp: nowSeconds() + 3600 })}.`
    },
    {
      name: "HS512 with the right secret (algorithm not allowed)",
      reason: "algorithm",
      token: () => sign({ sub: "alice", exp: nowSeconds() + 3600 }, { alg: "HS512" })
    },
    {
      name: "missing sub",
      reason: "claims",
      token: () => sign({ exp: nowSeconds() + 3600 })
    },
    {
      name: "missing exp",
      reason: "claims",
      token: () => sign({ sub: "alice" })
    },
    { name: "not a JWT", reason: "malformed", token: async () => "not.a.jwt" }
  ]

  it("each gets 401 with one and the same body, a warn line without the token, and a metric", async () => {
    const bodies = new Set<string>()
    const tokens: Array<string> = []
    const requestIds = new Map<string, string>()
    for (const entry of cases) {
      const token = await entry.token()
      if (token !== undefined) tokens.push(token)
      for (const path of ["/v1/instances", "/v1/instances/default/query"]) {
        const response = await call(
          path,
          token,
          path.endsWith("/query") ? { method: "POST", body: JSON.stringify({ query: "SELECT 1" }) } : {}
        )
        const payload = await expectError(response, 401, "unauthorized")
        bodies.add(JSON.stringify({ ...payload, requestId: undefined }))
        requestIds.set(payload.requestId, entry.reason)
      }
    }
    expect(bodies.size).toBe(1)

    await settle()
    const lines = logLines()
    for (const [requestId, reason] of requestIds) {
      const line = lines.find((candidate) => candidate.request_id === requestId)
      expect(line, requestId).toMatchObject({ level: "warn", message: "authentication failed", reason })
    }
    const everything = server.logLines.join("\n")
    for (const token of tokens) {
      expect(everything).not.toContain(token)
      // Not even the signature or the payload part alone.
      for (const part of token.split(".").filter((segment) => segment.length > 8)) {
        expect(everything).not.toContain(part)
      }
    }

    const metrics = await (await fetch(`${server.url}/api/v1/metrics`)).text()
    for (const reason of new Set(cases.map((entry) => entry.reason))) {
      expect(metrics).toMatch(new RegExp(`pondpilot_auth_failures_total\\{reason="${reason}"\\} [1-9]`))
    }
  })

  it("an API key is not a credential under jwt", async () => {
    await expectError(
      await fetch(`${server.url}/v1/instances`, { headers: { "x-api-key": "test-key" } }),
      401,
      "unauthorized"
    )
  })
})
