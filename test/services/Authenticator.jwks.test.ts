import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from "jose"
import { jwtPrincipal } from "../../src/domain/Principal.js"
import { authenticatorLayer, type Outcome, outcome } from "./authHelpers.js"
import { settingsFrom } from "./authSettings.js"

const now = 1_900_000_000
const valid: JWTPayload = { sub: "erin", exp: now + 3600, iss: "https://idp.test" }
const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url")

const keys = Effect.promise(async () => {
  const rsa = await generateKeyPair("RS256", { extractable: true })
  const ec = await generateKeyPair("ES256", { extractable: true })
  const stranger = await generateKeyPair("RS256")
  const rs512 = await generateKeyPair("RS512")
  const jwks = {
    keys: [
      { ...(await exportJWK(rsa.publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" },
      { ...(await exportJWK(ec.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" }
    ]
  }
  return { rsa, ec, stranger, rs512, jwks, rsaPublicPem: await exportSPKI(rsa.publicKey) }
})

/** A JWKS endpoint on loopback and a free port, closed with the test's scope. */
const serveJson = (status: number, body: unknown) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly server: http.Server; readonly hits: () => number }>(
      (resume) => {
        let hits = 0
        const server = http.createServer((_request, response) => {
          hits++
          response.writeHead(status, { "content-type": "application/json" })
          response.end(JSON.stringify(body))
        })
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo
          resume(
            Effect.succeed({
              url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
              server,
              hits: () => hits
            })
          )
        })
      }
    ),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

const jwksSettings = (url: string) =>
  settingsFrom(
    `security: { authentication: { type: jwt, jwt: { jwks_url: '${url}', issuer: 'https://idp.test' } } }`,
    // A secret is configured too: with a JWKS it must be ignored, never accepted as an HS256 key.
    { JWT_SECRET: "an-hs256-secret-of-at-least-32-characters!" }
  )

const sign = (claims: JWTPayload, alg: string, key: Parameters<SignJWT["sign"]>[0], kid?: string) =>
  Effect.promise(() =>
    new SignJWT(claims).setProtectedHeader(kid === undefined ? { alg } : { alg, kid }).sign(key)
  )

const check = (token: string) => outcome({ Authorization: `Bearer ${token}` })

describe("jwt authentication with a JWKS URL", () => {
  it.scoped("verifies RS256 and ES256 tokens against the fetched key set", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(now * 1000)
      const { rsa, ec, jwks } = yield* keys
      const endpoint = yield* serveJson(200, jwks)
      const results: Array<Outcome> = yield* Effect.gen(function* () {
        return [
          yield* check(yield* sign(valid, "RS256", rsa.privateKey, "rsa-1")),
          yield* check(yield* sign({ ...valid, sub: "frank" }, "ES256", ec.privateKey, "ec-1")),
          yield* check(yield* sign({ ...valid, sub: "grace" }, "RS256", rsa.privateKey)),
          yield* check(yield* sign({ ...valid, exp: now - 60 }, "RS256", rsa.privateKey, "rsa-1")),
          yield* check(yield* sign({ ...valid, iss: "https://evil.test" }, "RS256", rsa.privateKey, "rsa-1"))
        ]
      }).pipe(Effect.provide(authenticatorLayer(jwksSettings(endpoint.url))))
      expect(results).toEqual([
        { principal: jwtPrincipal("erin") },
        { principal: jwtPrincipal("frank") },
        { principal: jwtPrincipal("grace") },
        { refused: "expired" },
        { refused: "claims" }
      ])
      expect(endpoint.hits()).toBeGreaterThanOrEqual(1)
    })
  )

  it.scoped("refuses algorithm confusion, alg none, the shared secret and unknown keys", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(now * 1000)
      const { stranger, rs512, jwks, rsaPublicPem } = yield* keys
      const endpoint = yield* serveJson(200, jwks)
      const results = yield* Effect.gen(function* () {
        return [
          // The classic confusion: HS256 "signed" with the server's own public key as the HMAC secret.
          yield* check(yield* sign(valid, "HS256", new TextEncoder().encode(rsaPublicPem), "rsa-1")),
          yield* check(
            yield* sign(valid, "HS256", new TextEncoder().encode(JSON.stringify(jwks.keys[0])), "rsa-1")
          ),
          yield* check(
            yield* sign(
              valid,
              "HS256",
              new TextEncoder().encode("an-hs256-secret-of-at-least-32-characters!")
            )
          ),
          yield* check(`${base64url({ alg: "none", kid: "rsa-1" })}.${base64url(valid)}.`),
          yield* check(yield* sign(valid, "RS256", stranger.privateKey, "rsa-1")),
          yield* check(yield* sign(valid, "RS256", stranger.privateKey, "unknown-kid")),
          yield* check(yield* sign(valid, "RS512", rs512.privateKey, "rsa-1"))
        ]
      }).pipe(Effect.provide(authenticatorLayer(jwksSettings(endpoint.url))))
      expect(results).toEqual([
        { refused: "algorithm" },
        { refused: "algorithm" },
        { refused: "algorithm" },
        { refused: "algorithm" },
        { refused: "invalid" },
        { refused: "invalid" },
        { refused: "algorithm" }
      ])
    })
  )

  it.scoped("reports an unreachable or broken key set as jwks_unavailable, still a 401 to the client", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(now * 1000)
      const { rsa } = yield* keys
      const token = yield* sign(valid, "RS256", rsa.privateKey, "rsa-1")
      const broken = yield* serveJson(500, { error: "down" })
      const garbage = yield* serveJson(200, { keys: "not a list" })
      // A port that was free a moment ago: nothing listens there.
      const closedUrl = yield* Effect.scoped(Effect.map(serveJson(200, {}), ({ url }) => url))
      const results = []
      for (const url of [broken.url, garbage.url, closedUrl]) {
        results.push(yield* check(token).pipe(Effect.provide(authenticatorLayer(jwksSettings(url)))))
      }
      expect(results).toEqual([
        { refused: "jwks_unavailable" },
        { refused: "jwks_unavailable" },
        { refused: "jwks_unavailable" }
      ])
    })
  )
})
