import { createHash, timingSafeEqual } from "node:crypto"
import type { Headers } from "@effect/platform"
import { Clock, Duration, Effect, Option, Redacted } from "effect"
import { RecencyMap } from "../collections/RecencyMap.js"
import type { Settings } from "../domain/ConfigLoader.js"
import { Unauthorized } from "../domain/Errors.js"
import { anonymousPrincipal, apiKeyPrincipal, jwtPrincipal, type Principal } from "../domain/Principal.js"
import { AppConfig, type ConfigError } from "./AppConfig.js"
import { makeJwtVerifier, type TokenFailure } from "./JwtVerifier.js"

/** Why a request was refused, for logs and metrics only: the client always reads the same message. */
export type AuthFailureReason = "missing" | "malformed" | "invalid" | TokenFailure

/** The one message for every refusal, so that a response never tells a wrong key from a missing one. */
export const unauthorizedMessage = "Missing or invalid credentials"

// The reason rides on the error as a non-enumerable symbol property: the error's schema fields are
// what gets serialized to clients, and a property survives the Proxy Effect wraps failures in when a
// span is active (a WeakMap keyed by the error would not).
const reasonKey: unique symbol = Symbol.for("pondpilot/AuthFailureReason")

export const authFailureReason = (error: Unauthorized): AuthFailureReason | undefined =>
  (error as Unauthorized & { readonly [reasonKey]?: AuthFailureReason })[reasonKey]

export const unauthorized = (reason: AuthFailureReason): Unauthorized => {
  const error = new Unauthorized({ message: unauthorizedMessage })
  Object.defineProperty(error, reasonKey, { value: reason, enumerable: false })
  return error
}

export type Authenticate = (headers: Headers.Headers) => Effect.Effect<Principal, Unauthorized>

const sha256 = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest()

/**
 * Keys are compared as SHA-256 digests so that both sides have the same length whatever was sent, and
 * every configured key is compared every time, so the time taken says nothing about which key (or
 * which prefix of it) matched. Runs synchronously: no promise, no fiber hop.
 */
const makeApiKeyCheck = (
  keys: ReadonlyArray<Redacted.Redacted<string>>,
  headerName: string
): Authenticate => {
  const header = headerName.toLowerCase()
  const known = keys.map((key) => ({
    digest: sha256(Redacted.value(key)),
    principal: apiKeyPrincipal(Redacted.value(key))
  }))
  return (headers) => {
    const presented: unknown = headers[header]
    // `typeof`, not `undefined`: a header name such as "constructor" would find Object.prototype's.
    if (typeof presented !== "string" || presented === "") return Effect.fail(unauthorized("missing"))
    const digest = sha256(presented)
    let match: Principal | undefined
    for (const candidate of known) {
      const equal = timingSafeEqual(digest, candidate.digest)
      if (equal && match === undefined) match = candidate.principal
    }
    return match === undefined ? Effect.fail(unauthorized("invalid")) : Effect.succeed(match)
  }
}

/** Bearer tokens longer than this are refused before any parsing; real JWTs are far shorter. */
const maxTokenLength = 8192
const bearerPattern = /^Bearer +([^\s]+)$/i

const bearerToken = (headers: Headers.Headers): { readonly token: string } | AuthFailureReason => {
  const authorization = headers.authorization
  if (authorization === undefined || authorization === "") return "missing"
  const token = bearerPattern.exec(authorization)?.[1]
  if (token === undefined || token.length > maxTokenLength) return "malformed"
  return { token }
}

/** Successful verifications by token, least recently used dropped first, none used past the token's exp. */
class VerifiedTokens {
  private readonly entries = new RecencyMap<
    string,
    { readonly principal: Principal; readonly expiresAt: number }
  >()
  constructor(private readonly capacity: number) {}

  get(token: string, now: number): Principal | undefined {
    const entry = this.entries.use(token)
    if (entry === undefined) return undefined
    if (now < entry.expiresAt) return entry.principal
    this.entries.delete(token)
    return undefined
  }

  set(token: string, principal: Principal, expiresAt: number, now: number): void {
    if (now >= expiresAt) return
    if (this.entries.peek(token) === undefined && this.entries.size >= this.capacity) {
      const oldest = this.entries.oldest()
      if (oldest !== undefined) this.entries.delete(oldest[0])
    }
    this.entries.set(token, { principal, expiresAt })
  }
}

export const verifiedTokenCacheSize = 10_000

const makeJwtCheck = (settings: Settings): Effect.Effect<Authenticate, ConfigError> =>
  Effect.gen(function* () {
    const jwt = settings.security.authentication.jwt
    const verify = yield* makeJwtVerifier({
      jwksUrl: jwt.jwks_url,
      secret: Option.map(settings.secrets.jwtSecret, Redacted.value),
      issuer: jwt.issuer,
      audience: jwt.audience,
      clockSkewSeconds: Duration.toSeconds(jwt.clock_skew)
    })
    const cache = new VerifiedTokens(verifiedTokenCacheSize)
    return (headers) => {
      const bearer = bearerToken(headers)
      if (typeof bearer === "string") return Effect.fail(unauthorized(bearer))
      const { token } = bearer
      return Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const cached = cache.get(token, now)
        if (cached !== undefined) return Effect.succeed(cached)
        // The verifier settles every outcome itself, so its promise never rejects.
        return Effect.promise(() => verify(token, now)).pipe(
          Effect.flatMap((verified) => {
            if (typeof verified === "string") return Effect.fail(unauthorized(verified))
            const principal = jwtPrincipal(verified.subject)
            cache.set(token, principal, verified.expiresAt, now)
            return Effect.succeed(principal)
          }),
          Effect.withSpan("Authenticator.verifyJwt")
        )
      })
    }
  })

/** Builds the request check for the configured authentication type. */
export const makeAuthenticate = (settings: Settings): Effect.Effect<Authenticate, ConfigError> => {
  const auth = settings.security.authentication
  switch (auth.type) {
    case "none":
      return Effect.succeed(() => Effect.succeed(anonymousPrincipal))
    case "api-key":
      return Effect.succeed(makeApiKeyCheck(settings.secrets.apiKeys, auth.api_key_header))
    case "jwt":
      return makeJwtCheck(settings)
  }
}

/**
 * Who sent a request. Refusals are `Unauthorized` with one message for every cause; the cause itself
 * is `authFailureReason(error)`, for the warn log and the failure metric.
 */
export class Authenticator extends Effect.Service<Authenticator>()("pondpilot/Authenticator", {
  effect: Effect.gen(function* () {
    const settings = yield* AppConfig
    const authenticate = yield* makeAuthenticate(settings)
    return { authenticate } as const
  })
}) {}
