import { Headers } from "@effect/platform"
import { Effect, Either, Layer, Schema } from "effect"
import { expect } from "vitest"
import type { Settings } from "../../src/domain/ConfigLoader.js"
import { Unauthorized } from "../../src/domain/Errors.js"
import type { Principal } from "../../src/domain/Principal.js"
import { AppConfig } from "../../src/services/AppConfig.js"
import {
  Authenticator,
  type AuthFailureReason,
  authFailureReason,
  unauthorizedMessage
} from "../../src/services/Authenticator.js"

export const authenticatorLayer = (settings: Settings) =>
  Authenticator.Default.pipe(Layer.provide(AppConfig.layerWith(settings)))

export const authenticate = (headers: Record<string, string>) =>
  Effect.flatMap(Authenticator, (authenticator) => authenticator.authenticate(Headers.fromInput(headers)))

export type Outcome = { readonly principal: Principal } | { readonly refused: AuthFailureReason | undefined }

/**
 * The principal, or the refusal's logged reason after checking what a client would read: the one
 * message, and nothing of the reason in the encoded error.
 */
export const outcome = (headers: Record<string, string>): Effect.Effect<Outcome, never, Authenticator> =>
  Effect.map(Effect.either(authenticate(headers)), (result) => {
    if (Either.isRight(result)) return { principal: result.right }
    const error = result.left
    if (!(error instanceof Unauthorized)) throw new Error("expected Unauthorized")
    expect(Schema.encodeSync(Unauthorized)(error)).toStrictEqual({
      _tag: "Unauthorized",
      message: unauthorizedMessage
    })
    expect(JSON.parse(JSON.stringify(error))).toStrictEqual({
      _tag: "Unauthorized",
      code: "unauthorized",
      message: unauthorizedMessage
    })
    return { refused: authFailureReason(error) }
  })
