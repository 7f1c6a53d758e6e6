import * as crypto from "node:crypto"
import { promisify } from "node:util"
import { Config, Data, Effect, Layer, Option, Redacted } from "effect"
import type { Sealed } from "../domain/Sealed.js"
import { AppConfig } from "./AppConfig.js"

/**
 * Connection strings at rest: AES-256-GCM with a random 96-bit nonce per value.
 *
 * Envelope: `v1.<kdf>.<keyId>.<nonce>.<ciphertext+tag>`, the last two base64url. The header
 * (`v1.<kdf>.<keyId>`) is authenticated as associated data, so no part can change unnoticed.
 * `keyId` is a short fingerprint of the derived key (an HMAC of it, not the key): it says which key
 * sealed a value, so keys can rotate.
 *
 * Key derivation from `ENCRYPTION_KEY`, chosen by `security.encryption.key_derivation`:
 * - `pbkdf2`: PBKDF2-HMAC-SHA256, 600,000 iterations (OWASP's 2023 figure for SHA-256);
 * - `scrypt`: N = 2^17, r = 8, p = 1 (OWASP's minimum; 128 MiB of memory while deriving).
 * The key is derived once, when the layer is built, never per value.
 *
 * The salt is fixed, one per KDF (`pondpilot-proxy/secretbox/v1/<kdf>`): every replica must derive
 * the same key from the same `ENCRYPTION_KEY`, and no per-deployment value exists to salt with. The
 * salt's job (defeating precomputation across many passwords) matters little for a single
 * high-entropy key; production requires ENCRYPTION_KEY of at least 32 characters.
 *
 * Rotation: set the new key as `ENCRYPTION_KEY` and the old ones, comma separated, as
 * `ENCRYPTION_KEY_PREVIOUS`. Values sealed with a previous key still open; `seal` always uses the
 * current key. A value sealed under the other KDF also opens (its key is derived on first use, once).
 */

export type Kdf = "pbkdf2" | "scrypt"

export const Pbkdf2Iterations = 600_000
export const ScryptCost = { N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 1024 * 1024 } as const

const Version = "v1"
const NonceBytes = 12
const TagBytes = 16
const kdfs: ReadonlySet<string> = new Set<Kdf>(["pbkdf2", "scrypt"])

export type SecretBoxFailure = "Malformed" | "UnsupportedVersion" | "UnknownKey" | "Tampered"

const failureMessages: Record<SecretBoxFailure, string> = {
  Malformed: "sealed value is malformed",
  UnsupportedVersion: "sealed value has an unsupported envelope version",
  UnknownKey:
    "sealed value was sealed with a key that is neither ENCRYPTION_KEY nor in ENCRYPTION_KEY_PREVIOUS",
  Tampered: "sealed value failed authentication (tampered, or sealed with another key)"
}

/** Operators' error (a 500 for clients): says what is wrong with an envelope, never its content. */
export class SecretBoxError extends Data.TaggedError("SecretBoxError")<{
  readonly reason: SecretBoxFailure
}> {
  override get message() {
    return failureMessages[this.reason]
  }
}

export interface DerivedKey {
  readonly kdf: Kdf
  readonly id: string
  readonly key: Redacted.Redacted<Buffer>
}

const pbkdf2 = promisify(crypto.pbkdf2)
const scrypt = (password: string, salt: Buffer) =>
  new Promise<Buffer>((resolve, reject) =>
    crypto.scrypt(password, salt, 32, ScryptCost, (error, key) => (error ? reject(error) : resolve(key)))
  )

const saltFor = (kdf: Kdf) => Buffer.from(`pondpilot-proxy/secretbox/v1/${kdf}`, "utf8")

const keyIdOf = (key: Buffer) =>
  crypto
    .createHmac("sha256", key)
    .update("pondpilot-proxy/secretbox/key-id")
    .digest()
    .subarray(0, 6)
    .toString("base64url")

/** Derives the AES key for `secret` (off the main thread: libuv's pool runs both KDFs). */
export const deriveKey = (secret: Redacted.Redacted<string>, kdf: Kdf): Effect.Effect<DerivedKey> =>
  Effect.promise(() =>
    kdf === "pbkdf2"
      ? pbkdf2(Redacted.value(secret), saltFor(kdf), Pbkdf2Iterations, 32, "sha256")
      : scrypt(Redacted.value(secret), saltFor(kdf))
  ).pipe(
    Effect.map((key) => ({ kdf, id: keyIdOf(key), key: Redacted.make(key) })),
    Effect.withSpan("SecretBox.deriveKey", { attributes: { kdf } })
  )

export interface SecretBoxKeys {
  readonly current: Redacted.Redacted<string>
  readonly previous: ReadonlyArray<Redacted.Redacted<string>>
  readonly kdf: Kdf
}

/** Strict base64url: anything that does not re-encode to itself is refused, so no bit goes unchecked. */
const decode64 = (text: string): Buffer | undefined => {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined
  const bytes = Buffer.from(text, "base64url")
  return bytes.toString("base64url") === text ? bytes : undefined
}

export const makeSecretBox = (keys: SecretBoxKeys) =>
  Effect.gen(function* () {
    const all = [keys.current, ...keys.previous]
    const derivedByKdf = yield* Effect.cachedFunction((kdf: Kdf) =>
      Effect.forEach(all, (secret) => deriveKey(secret, kdf), { concurrency: 2 })
    )
    const configured = yield* derivedByKdf(keys.kdf)
    const current = configured[0]!

    const seal = (plaintext: Redacted.Redacted<string>): Effect.Effect<Sealed> =>
      Effect.sync(() => {
        const nonce = crypto.randomBytes(NonceBytes)
        const header = `${Version}.${current.kdf}.${current.id}`
        const cipher = crypto.createCipheriv("aes-256-gcm", Redacted.value(current.key), nonce)
        cipher.setAAD(Buffer.from(header, "utf8"))
        const body = Buffer.concat([
          cipher.update(Redacted.value(plaintext), "utf8"),
          cipher.final(),
          cipher.getAuthTag()
        ])
        return `${header}.${nonce.toString("base64url")}.${body.toString("base64url")}` as Sealed
      }).pipe(Effect.withSpan("SecretBox.seal"))

    const open = Effect.fn("SecretBox.open")(function* (sealed: Sealed) {
      const parts = String(sealed).split(".")
      const [version, kdf, keyId, nonceText, bodyText] = parts
      if (version !== Version) {
        return yield* new SecretBoxError({
          reason: version !== undefined && /^v\d+$/.test(version) ? "UnsupportedVersion" : "Malformed"
        })
      }
      if (parts.length !== 5 || kdf === undefined || !kdfs.has(kdf)) {
        return yield* new SecretBoxError({ reason: "Malformed" })
      }
      const nonce = decode64(nonceText!)
      const body = decode64(bodyText!)
      if (nonce?.length !== NonceBytes || body === undefined || body.length < TagBytes) {
        return yield* new SecretBoxError({ reason: "Malformed" })
      }
      const candidates = kdf === keys.kdf ? configured : yield* derivedByKdf(kdf as Kdf)
      const key = candidates.find((candidate) => candidate.id === keyId)
      if (key === undefined) return yield* new SecretBoxError({ reason: "UnknownKey" })
      try {
        const decipher = crypto.createDecipheriv("aes-256-gcm", Redacted.value(key.key), nonce)
        decipher.setAAD(Buffer.from(`${version}.${kdf}.${keyId}`, "utf8"))
        decipher.setAuthTag(body.subarray(body.length - TagBytes))
        const plain = Buffer.concat([
          decipher.update(body.subarray(0, body.length - TagBytes)),
          decipher.final()
        ])
        return Redacted.make(plain.toString("utf8"))
      } catch {
        return yield* new SecretBoxError({ reason: "Tampered" })
      }
    })

    return {
      /** Seals with the current key. */
      seal,
      /** Opens a value sealed with the current key or a previous one. */
      open: open as (sealed: Sealed) => Effect.Effect<Redacted.Redacted<string>, SecretBoxError>,
      /** Fingerprint of the current key (for logs: which key is in use, never the key). */
      currentKeyId: current.id
    } as const
  })

/** `ENCRYPTION_KEY_PREVIOUS`: comma-separated previous keys (a key cannot contain a comma). */
export const previousKeysConfig = Config.option(Config.redacted("ENCRYPTION_KEY_PREVIOUS")).pipe(
  Config.map(
    Option.match({
      onNone: () => [],
      onSome: (value) =>
        Redacted.value(value)
          .split(",")
          .map((key) => key.trim())
          .filter((key) => key !== "")
          .map((key) => Redacted.make(key))
    })
  )
)

export class SecretBox extends Effect.Service<SecretBox>()("pondpilot/SecretBox", {
  effect: Effect.gen(function* () {
    const settings = yield* AppConfig
    const previous = yield* previousKeysConfig.pipe(Effect.orDie)
    return yield* makeSecretBox({
      current: settings.secrets.encryptionKey,
      previous,
      kdf: settings.security.encryption.key_derivation
    })
  }),
  dependencies: [AppConfig.layer]
}) {
  /** A SecretBox with explicit keys (tests, tools). */
  static readonly layerWith = (keys: SecretBoxKeys): Layer.Layer<SecretBox> =>
    Layer.effect(
      SecretBox,
      Effect.map(makeSecretBox(keys), (box) => SecretBox.make(box))
    )
}
