import { Schema } from "effect"

/**
 * A sealed value (services/SecretBox.ts describes the envelope); only `SecretBox.seal` makes one. Down
 * here so that the rooms that store and open sealed connection strings need not reach up to services.
 */
export const Sealed = Schema.String.pipe(
  Schema.pattern(/^v\d+\.[A-Za-z0-9_.-]+$/),
  Schema.brand("pondpilot/Sealed")
)
export type Sealed = typeof Sealed.Type
