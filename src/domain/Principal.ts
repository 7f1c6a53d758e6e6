import { createHash } from "node:crypto"
import { Schema } from "effect"

/**
 * Who is calling. Instances belong to a principal's `id`, so the id must be stable across restarts
 * and replicas, and must never reveal a credential.
 */
export const Principal = Schema.Struct({
  id: Schema.String,
  kind: Schema.Literal("api-key", "jwt", "anonymous")
})
export type Principal = typeof Principal.Type

/** With `security.authentication.type: none` every caller is this one principal. */
export const anonymousPrincipal: Principal = { id: "anonymous", kind: "anonymous" }

/**
 * `key:` and 48 bits of the key's SHA-256: enough to tell a handful of configured keys apart, far too
 * little to help anyone guess a key, and the same on every replica.
 */
export const apiKeyPrincipal = (key: string): Principal => ({
  id: `key:${createHash("sha256").update(key, "utf8").digest("hex").slice(0, 12)}`,
  kind: "api-key"
})

export const jwtPrincipal = (subject: string): Principal => ({ id: `jwt:${subject}`, kind: "jwt" })
