import { describe, expect, layer } from "@effect/vitest"
import { Effect, TestClock, Tracer } from "effect"
import { generateKeyPair, type JWTPayload, SignJWT } from "jose"
import { jwtPrincipal } from "../../src/domain/Principal.js"
import { authenticatorLayer, outcome } from "./authHelpers.js"
import { settingsFrom } from "./authSettings.js"

const secret = "an-hs256-secret-of-at-least-32-characters!"
const secretBytes = new TextEncoder().encode(secret)

/** The test clock's "now", in epoch seconds: far from 0 so that real-looking claims make sense. */
const now = 1_900_000_000
const atNow = TestClock.setTime(now * 1000)

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url")

const hs256 = (claims: JWTPayload, key: Uint8Array = secretBytes) =>
  Effect.promise(() => new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key))

const valid: JWTPayload = { sub: "alice", exp: now + 3600, iat: now }
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` })

/** Counts jose verifications (the span around them) to tell cache hits from misses. */
const countingVerifications = <A, E, R>(body: (count: () => number) => Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const base = yield* Effect.tracer
    let verifications = 0
    const tracer = Tracer.make({
      span: (name, ...rest) => {
        if (name === "Authenticator.verifyJwt") verifications++
        return base.span(name, ...rest)
      },
      context: base.context
    })
    return yield* body(() => verifications).pipe(Effect.withTracer(tracer))
  })

describe("jwt authentication with an HS256 secret", () => {
  layer(
    authenticatorLayer(settingsFrom("security: { authentication: { type: jwt } }", { JWT_SECRET: secret }))
  )("HS256", (it) => {
    it.effect("accepts a valid token; sub is the principal", () =>
      Effect.gen(function* () {
        yield* atNow
        expect(yield* outcome(bearer(yield* hs256(valid)))).toEqual({ principal: jwtPrincipal("alice") })
        expect(yield* outcome({ authorization: `bearer ${yield* hs256({ ...valid, sub: "bob" })}` })).toEqual(
          {
            principal: { id: "jwt:bob", kind: "jwt" }
          }
        )
      })
    )

    it.effect("refuses a missing or malformed Authorization header", () =>
      Effect.gen(function* () {
        yield* atNow
        expect(yield* outcome({})).toEqual({ refused: "missing" })
        expect(yield* outcome({ Authorization: "Basic YWxpY2U6cHc=" })).toEqual({ refused: "malformed" })
        expect(yield* outcome({ Authorization: "Bearer" })).toEqual({ refused: "malformed" })
        expect(yield* outcome(bearer("not.a.jwt"))).toEqual({ refused: "malformed" })
        expect(yield* outcome(bearer(`${yield* hs256(valid)} extra`))).toEqual({ refused: "malformed" })
        expect(yield* outcome(bearer("x".repeat(9000)))).toEqual({ refused: "malformed" })
      })
    )

    it.effect("enforces exp and nbf with the configured 30s skew", () =>
      Effect.gen(function* () {
        yield* atNow
        const check = (claims: JWTPayload) => Effect.flatMap(hs256(claims), (token) => outcome(bearer(token)))
        expect(yield* check({ ...valid, exp: now - 31 })).toEqual({ refused: "expired" })
        expect(yield* check({ ...valid, exp: now - 29 })).toEqual({ principal: jwtPrincipal("alice") })
        expect(yield* check({ ...valid, nbf: now + 31 })).toEqual({ refused: "not_yet_valid" })
        expect(yield* check({ ...valid, nbf: now + 29 })).toEqual({ principal: jwtPrincipal("alice") })
      })
    )

    it.effect("requires sub (a non-empty string) and exp", () =>
      Effect.gen(function* () {
        yield* atNow
        const check = (claims: JWTPayload) => Effect.flatMap(hs256(claims), (token) => outcome(bearer(token)))
        expect(yield* check({ exp: now + 60 })).toEqual({ refused: "claims" })
        expect(yield* check({ sub: "", exp: now + 60 })).toEqual({ refused: "claims" })
        expect(yield* check({ sub: 42 as unknown as string, exp: now + 60 })).toEqual({ refused: "claims" })
        expect(yield* check({ sub: "x".repeat(257), exp: now + 60 })).toEqual({ refused: "claims" })
        expect(yield* check({ sub: "alice" })).toEqual({ refused: "claims" })
      })
    )

    it.effect("refuses a token signed with another secret", () =>
      Effect.gen(function* () {
        yield* atNow
        const forged = yield* hs256(valid, new TextEncoder().encode("another-secret-of-at-least-32-chars!!"))
        expect(yield* outcome(bearer(forged))).toEqual({ refused: "invalid" })
        const [header, , signature] = (yield* hs256(valid)).split(".")
        const tampered = `${header}.${base64url({ ...valid, sub: "root" })}.${signature}`
        expect(yield* outcome(bearer(tampered))).toEqual({ refused: "invalid" })
      })
    )

    it.effect("refuses alg none", () =>
      Effect.gen(function* () {
        yield* atNow
        for (const alg of ["none", "None", "NONE"]) {
          const unsigned = `${base64url({ alg, typ: "JWT" })}.${base64url(valid)}.`
          expect(yield* outcome(bearer(unsigned))).toEqual({ refused: "algorithm" })
        }
      })
    )

    it.effect("refuses an RS256 token (algorithm confusion the other way)", () =>
      Effect.gen(function* () {
        yield* atNow
        const { privateKey } = yield* Effect.promise(() => generateKeyPair("RS256"))
        const token = yield* Effect.promise(() =>
          new SignJWT(valid).setProtectedHeader({ alg: "RS256" }).sign(privateKey)
        )
        expect(yield* outcome(bearer(token))).toEqual({ refused: "algorithm" })
        const hs512 = yield* Effect.promise(() =>
          new SignJWT(valid).setProtectedHeader({ alg: "HS512" }).sign(secretBytes)
        )
        expect(yield* outcome(bearer(hs512))).toEqual({ refused: "algorithm" })
      })
    )

    it.effect("caches a verification, but never past the token's exp", () =>
      countingVerifications((verifications) =>
        Effect.gen(function* () {
          yield* atNow
          const token = yield* hs256({ sub: "carol", exp: now + 60 })
          expect(yield* outcome(bearer(token))).toEqual({ principal: jwtPrincipal("carol") })
          expect(verifications()).toBe(1)
          yield* TestClock.adjust("59 seconds")
          expect(yield* outcome(bearer(token))).toEqual({ principal: jwtPrincipal("carol") })
          expect(verifications()).toBe(1)
          // Past exp the cache is not consulted; jose still accepts within the skew...
          yield* TestClock.adjust("2 seconds")
          expect(yield* outcome(bearer(token))).toEqual({ principal: jwtPrincipal("carol") })
          expect(verifications()).toBe(2)
          // ...and refuses after it.
          yield* TestClock.adjust("30 seconds")
          expect(yield* outcome(bearer(token))).toEqual({ refused: "expired" })
          expect(verifications()).toBe(3)
        })
      )
    )

    it.effect("does not cache refusals", () =>
      countingVerifications((verifications) =>
        Effect.gen(function* () {
          yield* atNow
          const early = yield* hs256({ sub: "dave", exp: now + 600, nbf: now + 120 })
          expect(yield* outcome(bearer(early))).toEqual({ refused: "not_yet_valid" })
          yield* TestClock.adjust("2 minutes")
          expect(yield* outcome(bearer(early))).toEqual({ principal: jwtPrincipal("dave") })
          expect(verifications()).toBe(2)
        })
      )
    )
  })

  layer(
    authenticatorLayer(
      settingsFrom(
        "security: { authentication: { type: jwt, jwt: { issuer: 'https://issuer.test', audience: pondpilot, clock_skew: 5s } } }",
        { JWT_SECRET: secret }
      )
    )
  )("issuer, audience and a custom skew", (it) => {
    it.effect("requires the configured issuer and audience", () =>
      Effect.gen(function* () {
        yield* atNow
        const check = (claims: JWTPayload) => Effect.flatMap(hs256(claims), (token) => outcome(bearer(token)))
        const good = { ...valid, iss: "https://issuer.test", aud: "pondpilot" }
        expect(yield* check(good)).toEqual({ principal: jwtPrincipal("alice") })
        expect(yield* check({ ...good, aud: ["other", "pondpilot"] })).toEqual({
          principal: jwtPrincipal("alice")
        })
        expect(yield* check({ ...good, iss: "https://evil.test" })).toEqual({ refused: "claims" })
        expect(yield* check({ ...good, aud: "other" })).toEqual({ refused: "claims" })
        expect(yield* check({ ...valid, aud: "pondpilot" })).toEqual({ refused: "claims" })
        expect(yield* check({ ...valid, iss: "https://issuer.test" })).toEqual({ refused: "claims" })
        expect(yield* check({ ...good, exp: now - 6 })).toEqual({ refused: "expired" })
        expect(yield* check({ ...good, exp: now - 4 })).toEqual({ principal: jwtPrincipal("alice") })
      })
    )
  })
})
