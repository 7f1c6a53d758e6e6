import { Effect, Option } from "effect"
import { createRemoteJWKSet, errors, type JWTVerifyOptions, jwtVerify } from "jose"
import { ConfigError } from "./AppConfig.js"

export interface JwtVerifierOptions {
  /** When set, tokens must be signed by a key of this JWKS, and a shared secret is never accepted. */
  readonly jwksUrl: string | undefined
  readonly secret: Option.Option<string>
  readonly issuer: string | undefined
  readonly audience: string | undefined
  readonly clockSkewSeconds: number
}

export interface VerifiedToken {
  readonly subject: string
  /** The token's `exp`, in epoch milliseconds. */
  readonly expiresAt: number
}

/** Why a token was refused (Authenticator's `AuthFailureReason` adds the refusals before a token is read). */
export type TokenFailure =
  | "malformed"
  | "invalid"
  | "expired"
  | "not_yet_valid"
  | "claims"
  | "algorithm"
  | "jwks_unavailable"

/** Never rejects: every refusal resolves to its reason. */
export type JwtVerifier = (token: string, nowMillis: number) => Promise<VerifiedToken | TokenFailure>

/**
 * Each key source accepts only its own family, which is what defeats algorithm confusion: with a
 * JWKS, an HS256 token "signed" with the public key is refused before any key is used; with a secret,
 * an RS/ES token is refused the same way. `none` is never in either list.
 */
export const jwksAlgorithms: ReadonlyArray<string> = ["RS256", "ES256"]
export const secretAlgorithms: ReadonlyArray<string> = ["HS256"]

/** A `sub` is an owner id stored with every instance; anything longer is not a real subject. */
const maxSubjectLength = 256

const reasonOf = (error: unknown, remoteKeys: boolean): TokenFailure => {
  if (!(error instanceof errors.JOSEError)) return remoteKeys ? "jwks_unavailable" : "invalid"
  switch (error.code) {
    case errors.JWTExpired.code:
      return "expired"
    case errors.JWTClaimValidationFailed.code:
      return (error as errors.JWTClaimValidationFailed).claim === "nbf" ? "not_yet_valid" : "claims"
    case errors.JOSEAlgNotAllowed.code:
    case errors.JOSENotSupported.code:
      return "algorithm"
    case errors.JWSInvalid.code:
    case errors.JWTInvalid.code:
      return "malformed"
    case errors.JWKSTimeout.code:
    case errors.JWKSInvalid.code:
      return "jwks_unavailable"
    // jose's generic error is what a failed JWKS download (non-200, unparsable body) raises.
    case errors.JOSEError.code:
      return remoteKeys ? "jwks_unavailable" : "invalid"
    default:
      return "invalid"
  }
}

const parseJwksUrl = (text: string): Option.Option<URL> => {
  try {
    const url = new URL(text)
    return url.protocol === "https:" || url.protocol === "http:" ? Option.some(url) : Option.none()
  } catch {
    return Option.none()
  }
}

/**
 * Verifies a compact JWS with jose: signature under the pinned algorithms, `exp` required and `nbf`
 * honoured with the configured skew, `iss`/`aud` when configured, and a non-empty string `sub`.
 * Time is passed in (`currentDate`) so that the caller's clock, not `Date.now()`, decides expiry.
 */
export const makeJwtVerifier = (options: JwtVerifierOptions): Effect.Effect<JwtVerifier, ConfigError> =>
  Effect.gen(function* () {
    const remote = options.jwksUrl !== undefined
    const base: JWTVerifyOptions = {
      algorithms: [...(remote ? jwksAlgorithms : secretAlgorithms)],
      clockTolerance: options.clockSkewSeconds,
      requiredClaims: ["sub", "exp"],
      ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
      ...(options.audience === undefined ? {} : { audience: options.audience })
    }
    const settle = (verification: Promise<{ readonly payload: { sub?: unknown; exp?: unknown } }>) =>
      verification.then(
        ({ payload }): VerifiedToken | TokenFailure =>
          typeof payload.sub === "string" &&
          payload.sub !== "" &&
          payload.sub.length <= maxSubjectLength &&
          typeof payload.exp === "number"
            ? { subject: payload.sub, expiresAt: payload.exp * 1000 }
            : "claims",
        (error: unknown) => reasonOf(error, remote)
      )

    if (options.jwksUrl !== undefined) {
      const url = parseJwksUrl(options.jwksUrl)
      if (Option.isNone(url)) {
        return yield* new ConfigError({
          problems: ["security.authentication.jwt.jwks_url: expected an http(s) URL"]
        })
      }
      const keys = createRemoteJWKSet(url.value)
      return (token, nowMillis) =>
        settle(jwtVerify(token, keys, { ...base, currentDate: new Date(nowMillis) }))
    }
    if (Option.isNone(options.secret)) {
      return yield* new ConfigError({
        problems: [
          "JWT_SECRET: required with jwt authentication (or set security.authentication.jwt.jwks_url)"
        ]
      })
    }
    const secret = new TextEncoder().encode(options.secret.value)
    return (token, nowMillis) =>
      settle(jwtVerify(token, secret, { ...base, currentDate: new Date(nowMillis) }))
  })
