import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { anonymousPrincipal, apiKeyPrincipal } from "../../src/domain/Principal.js"
import {
  Authenticator,
  authFailureReason,
  makeAuthenticate,
  unauthorizedMessage
} from "../../src/services/Authenticator.js"
import { authenticate, authenticatorLayer, outcome } from "./authHelpers.js"
import { settingsFrom } from "./authSettings.js"

const alpha = "ppk_alpha_0123456789abcdef"
const beta = "ppk_beta_fedcba9876543210"

describe("api-key authentication", () => {
  layer(authenticatorLayer(settingsFrom("{}", { API_KEY: `${alpha}, ${beta}` })))("two keys", (it) => {
    it.effect("accepts each configured key as its own principal", () =>
      Effect.gen(function* () {
        expect(yield* outcome({ "X-API-Key": alpha })).toEqual({ principal: apiKeyPrincipal(alpha) })
        expect(yield* outcome({ "X-API-Key": beta })).toEqual({ principal: apiKeyPrincipal(beta) })
        expect(apiKeyPrincipal(alpha).id).not.toBe(apiKeyPrincipal(beta).id)
      })
    )

    it.effect("reads the header whatever its case", () =>
      Effect.gen(function* () {
        expect(yield* outcome({ "x-api-key": alpha })).toEqual({ principal: apiKeyPrincipal(alpha) })
        expect(yield* outcome({ "X-API-KEY": beta })).toEqual({ principal: apiKeyPrincipal(beta) })
      })
    )

    it.effect("refuses missing and wrong keys with the same client-visible error", () =>
      Effect.gen(function* () {
        expect(yield* outcome({})).toEqual({ refused: "missing" })
        expect(yield* outcome({ "X-API-Key": "" })).toEqual({ refused: "missing" })
        expect(yield* outcome({ Authorization: `Bearer ${alpha}` })).toEqual({ refused: "missing" })
        for (const wrong of [
          "nope",
          alpha.slice(0, -1),
          `${alpha}x`,
          alpha.toUpperCase(),
          `${alpha}, ${beta}`
        ]) {
          expect(yield* outcome({ "X-API-Key": wrong })).toEqual({ refused: "invalid" })
        }
      })
    )
  })

  layer(
    authenticatorLayer(
      settingsFrom("security: { authentication: { api_key_header: X-Custom-Key } }", { API_KEY: alpha })
    )
  )("a configured header name", (it) => {
    it.effect("reads that header and no other", () =>
      Effect.gen(function* () {
        expect(yield* outcome({ "X-CUSTOM-KEY": alpha })).toEqual({ principal: apiKeyPrincipal(alpha) })
        expect(yield* outcome({ "X-API-Key": alpha })).toEqual({ refused: "missing" })
      })
    )
  })
})

describe("api-key principals", () => {
  it("are key: plus 12 hex digits of the key's SHA-256 and never contain the key", () => {
    const principal = apiKeyPrincipal(alpha)
    expect(principal.kind).toBe("api-key")
    expect(principal.id).toMatch(/^key:[0-9a-f]{12}$/)
    expect(principal.id).not.toContain(alpha.slice(4, 10))
    expect(apiKeyPrincipal(alpha)).toEqual(principal)
  })
})

describe("authentication type none", () => {
  layer(authenticatorLayer(settingsFrom("{}", { API_KEY: alpha })))("inside a request span", (it) => {
    it.effect("keeps the failure reason readable when Effect wraps the error for the span", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(
          authenticate({ "X-API-Key": "wrong" }).pipe(Effect.withSpan("request"))
        )
        expect(authFailureReason(error)).toBe("invalid")
        expect(error.message).toBe(unauthorizedMessage)
      })
    )
  })

  layer(authenticatorLayer(settingsFrom("security: { authentication: { type: none } }")))("none", (it) => {
    it.effect("is the one shared anonymous principal", () =>
      Effect.gen(function* () {
        expect(yield* outcome({})).toEqual({ principal: anonymousPrincipal })
        expect(yield* outcome({ "X-API-Key": "anything" })).toEqual({ principal: anonymousPrincipal })
      })
    )
  })
})

describe("construction", () => {
  it.effect("fails with a config problem for a JWKS URL that is not http(s)", () =>
    Effect.gen(function* () {
      const settings = settingsFrom(
        "security: { authentication: { type: jwt, jwt: { jwks_url: 'file:///etc/keys.json' } } }"
      )
      const exit = yield* Effect.exit(makeAuthenticate(settings))
      expect(exit).toStrictEqual(Exit.fail(expect.anything()))
      if (Exit.isFailure(exit)) {
        expect(String(exit.cause)).toContain("security.authentication.jwt.jwks_url: expected an http(s) URL")
      }
    })
  )

  it.effect("is a service built from AppConfig", () =>
    Effect.gen(function* () {
      const authenticator = yield* Authenticator
      expect(typeof authenticator.authenticate).toBe("function")
    }).pipe(Effect.provide(authenticatorLayer(settingsFrom("{}", { API_KEY: alpha }))))
  )
})
