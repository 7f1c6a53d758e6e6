import { createHash, timingSafeEqual } from "node:crypto"
import type { Headers } from "@effect/platform"
import { Effect, Redacted } from "effect"
import { Unauthorized } from "../domain/Errors.js"
import type { Principal } from "../domain/Principal.js"
import { AppConfig } from "./AppConfig.js"

// Provisional: replaced by the access work (issue 5), which owns this module.
const digest = (text: string) => createHash("sha256").update(text).digest()

export class Authenticator extends Effect.Service<Authenticator>()("pondpilot/Authenticator", {
  effect: Effect.gen(function* () {
    const config = yield* AppConfig
    const header = config.security.authentication.api_key_header.toLowerCase()
    const keys = config.secrets.apiKeys.map((key) => {
      const value = Redacted.value(key)
      return {
        digest: digest(value),
        principal: { id: `key:${digest(value).toString("hex").slice(0, 12)}`, kind: "api-key" as const }
      }
    })
    const refused = new Unauthorized({ message: "missing or invalid credentials" })
    const authenticate = (headers: Headers.Headers): Effect.Effect<Principal, Unauthorized> => {
      if (config.security.authentication.type === "none")
        return Effect.succeed({ id: "anonymous", kind: "anonymous" })
      const presented = headers[header]
      if (typeof presented !== "string") return Effect.fail(refused)
      const candidate = digest(presented)
      let found: Principal | undefined
      for (const key of keys) if (timingSafeEqual(key.digest, candidate)) found = key.principal
      return found ? Effect.succeed(found) : Effect.fail(refused)
    }
    return { authenticate } as const
  })
}) {}
