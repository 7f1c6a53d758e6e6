import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer, Redacted } from "effect"
import type { Settings } from "../../src/domain/ConfigLoader.js"
import type { Sealed } from "../../src/domain/Sealed.js"
import { AppConfig } from "../../src/services/AppConfig.js"
import { deriveKey, type Kdf, Pbkdf2Iterations, SecretBox } from "../../src/services/SecretBox.js"

const key = (text: string) => Redacted.make(text)
const currentKey = "current-encryption-key-0123456789abcdef"
const oldKey = "old-encryption-key-0123456789abcdef-old"
const plaintext = "postgresql://app:s3cr3t%40pw@db.internal:5432/sales?sslmode=require"

const reasonOf = (sealed: string) =>
  Effect.gen(function* () {
    const box = yield* SecretBox
    const exit = yield* Effect.exit(box.open(sealed as Sealed))
    if (Exit.isSuccess(exit)) return "opened"
    return exit.cause._tag === "Fail" ? exit.cause.error.reason : "defect"
  })

/** Replaces one character of `part` (index into the dot-separated envelope) with another valid one. */
const tamper = (sealed: string, part: number): string => {
  const parts = sealed.split(".")
  const text = parts[part]!
  const at = Math.floor(text.length / 2)
  const replacement = text[at] === "A" ? "B" : "A"
  parts[part] = text.slice(0, at) + replacement + text.slice(at + 1)
  return parts.join(".")
}

describe("SecretBox", () => {
  it("documents an OWASP-grade PBKDF2 iteration count", () => {
    expect(Pbkdf2Iterations).toBeGreaterThanOrEqual(600_000)
  })

  for (const kdf of ["pbkdf2", "scrypt"] as const) {
    layer(SecretBox.layerWith({ current: key(currentKey), previous: [], kdf }))(`with ${kdf}`, (it) => {
      it.effect("round-trips a value and never prints it", () =>
        Effect.gen(function* () {
          const box = yield* SecretBox
          const sealed = yield* box.seal(key(plaintext))
          expect(sealed.startsWith(`v1.${kdf}.${box.currentKeyId}.`)).toBe(true)
          expect(sealed).not.toContain("s3cr3t")
          const opened = yield* box.open(sealed)
          expect(Redacted.value(opened)).toBe(plaintext)
          expect(String(opened)).not.toContain("s3cr3t")
        })
      )

      it.effect("round-trips empty and non-ASCII values", () =>
        Effect.gen(function* () {
          const box = yield* SecretBox
          for (const value of ["", "pässwörd ✓ 密码", "x".repeat(10_000)]) {
            const opened = yield* box.open(yield* box.seal(key(value)))
            expect(Redacted.value(opened)).toBe(value)
          }
        })
      )

      it.effect("uses a fresh nonce for every value", () =>
        Effect.gen(function* () {
          const box = yield* SecretBox
          const sealed = yield* Effect.forEach(Array.from({ length: 200 }), () => box.seal(key(plaintext)))
          const nonces = new Set(sealed.map((s) => s.split(".")[3]))
          expect(nonces.size).toBe(200)
          expect(new Set(sealed).size).toBe(200)
          expect(Buffer.from(sealed[0]!.split(".")[3]!, "base64url")).toHaveLength(12)
        })
      )

      it.effect("detects tampering with every part of the envelope", () =>
        Effect.gen(function* () {
          const box = yield* SecretBox
          const sealed = yield* box.seal(key(plaintext))
          expect(yield* reasonOf(tamper(sealed, 4))).toBe("Tampered") // ciphertext or tag
          expect(yield* reasonOf(tamper(sealed, 3))).toBe("Tampered") // nonce
          expect(yield* reasonOf(tamper(sealed, 2))).toBe("UnknownKey") // key id
          const otherKdf = kdf === "pbkdf2" ? "scrypt" : "pbkdf2"
          // Another KDF's key does not have this id: the header is bound to the key that sealed it.
          expect(yield* reasonOf(sealed.replace(`.${kdf}.`, `.${otherKdf}.`))).toBe("UnknownKey")
          expect(yield* reasonOf(sealed.replace(`.${kdf}.`, ".argon2."))).toBe("Malformed")
          // The last byte of the tag.
          const parts = sealed.split(".")
          const body = Buffer.from(parts[4]!, "base64url")
          body[body.length - 1] = body[body.length - 1]! ^ 1
          parts[4] = body.toString("base64url")
          expect(yield* reasonOf(parts.join("."))).toBe("Tampered")
          // Truncated to less than a tag, or cut short.
          expect(yield* reasonOf([...parts.slice(0, 4), "AAAA"].join("."))).toBe("Malformed")
          expect(yield* reasonOf(parts.slice(0, 4).join("."))).toBe("Malformed")
          // Non-canonical base64url that would decode to the same bytes.
          expect(yield* reasonOf(`${sealed}=`)).toBe("Malformed")
        })
      )

      it.effect("checks the envelope version", () =>
        Effect.gen(function* () {
          const box = yield* SecretBox
          const sealed = yield* box.seal(key(plaintext))
          expect(yield* reasonOf(sealed.replace(/^v1\./, "v2."))).toBe("UnsupportedVersion")
          expect(yield* reasonOf(sealed.replace(/^v1\./, "x1."))).toBe("Malformed")
          expect(yield* reasonOf("not an envelope")).toBe("Malformed")
          expect(yield* reasonOf("")).toBe("Malformed")
        })
      )

      it.effect("errors never carry the envelope or the plaintext", () =>
        Effect.gen(function* () {
          const box = yield* SecretBox
          const sealed = yield* box.seal(key(plaintext))
          const error = yield* Effect.flip(box.open(tamper(sealed, 4) as Sealed))
          expect(error.message).not.toContain(sealed.split(".")[4]!.slice(0, 8))
          expect(JSON.stringify(error)).not.toContain("s3cr3t")
        })
      )
    })
  }

  it.effect("refuses a value sealed with another key", () =>
    Effect.gen(function* () {
      const sealed = yield* Effect.flatMap(SecretBox, (box) => box.seal(key(plaintext))).pipe(
        Effect.provide(SecretBox.layerWith({ current: key(oldKey), previous: [], kdf: "pbkdf2" }))
      )
      const reason = yield* reasonOf(sealed).pipe(
        Effect.provide(SecretBox.layerWith({ current: key(currentKey), previous: [], kdf: "pbkdf2" }))
      )
      expect(reason).toBe("UnknownKey")
    })
  )

  it.effect("opens values sealed with a previous key (rotation), and seals with the current one", () =>
    Effect.gen(function* () {
      const oldBox = SecretBox.layerWith({ current: key(oldKey), previous: [], kdf: "pbkdf2" })
      const sealedOld = yield* Effect.flatMap(SecretBox, (box) => box.seal(key(plaintext))).pipe(
        Effect.provide(oldBox)
      )
      const rotated = SecretBox.layerWith({
        current: key(currentKey),
        previous: [key(oldKey)],
        kdf: "pbkdf2"
      })
      yield* Effect.gen(function* () {
        const box = yield* SecretBox
        expect(Redacted.value(yield* box.open(sealedOld))).toBe(plaintext)
        const resealed = yield* box.seal(key(plaintext))
        expect(resealed.split(".")[2]).toBe(box.currentKeyId)
        expect(resealed.split(".")[2]).not.toBe(sealedOld.split(".")[2])
      }).pipe(Effect.provide(rotated))
    })
  )

  it.effect("opens values sealed under the other KDF (KDF change is a rotation too)", () =>
    Effect.gen(function* () {
      const sealed = yield* Effect.flatMap(SecretBox, (box) => box.seal(key(plaintext))).pipe(
        Effect.provide(SecretBox.layerWith({ current: key(currentKey), previous: [], kdf: "scrypt" }))
      )
      const opened = yield* Effect.flatMap(SecretBox, (box) => box.open(sealed)).pipe(
        Effect.provide(SecretBox.layerWith({ current: key(currentKey), previous: [], kdf: "pbkdf2" }))
      )
      expect(Redacted.value(opened)).toBe(plaintext)
    })
  )

  it.effect("derives distinct keys per KDF and per secret, reproducibly", () =>
    Effect.gen(function* () {
      const ids = yield* Effect.forEach(
        [
          [currentKey, "pbkdf2"],
          [currentKey, "pbkdf2"],
          [currentKey, "scrypt"],
          [oldKey, "pbkdf2"]
        ] as const,
        ([secret, kdf]: readonly [string, Kdf]) => Effect.map(deriveKey(key(secret), kdf), (d) => d.id)
      )
      expect(ids[0]).toBe(ids[1])
      expect(new Set(ids).size).toBe(3)
      expect(ids[0]).toMatch(/^[A-Za-z0-9_-]{8}$/)
    })
  )

  it.effect("the Default layer reads ENCRYPTION_KEY, key_derivation and ENCRYPTION_KEY_PREVIOUS", () =>
    Effect.gen(function* () {
      const sealedOld = yield* Effect.flatMap(SecretBox, (box) => box.seal(key(plaintext))).pipe(
        Effect.provide(SecretBox.layerWith({ current: key(oldKey), previous: [], kdf: "scrypt" }))
      )
      // Only the fields SecretBox reads; the rest of Settings plays no part here.
      const settings = {
        secrets: { encryptionKey: key(currentKey) },
        security: { encryption: { algorithm: "AES-256-GCM", key_derivation: "scrypt" } }
      } as unknown as Settings
      const live = SecretBox.DefaultWithoutDependencies.pipe(
        Layer.provide(AppConfig.layerWith(settings)),
        Layer.provide(
          Layer.setConfigProvider(
            ConfigProvider.fromMap(new Map([["ENCRYPTION_KEY_PREVIOUS", ` other-key-xyz , ${oldKey}`]]))
          )
        )
      )
      yield* Effect.gen(function* () {
        const box = yield* SecretBox
        expect(Redacted.value(yield* box.open(sealedOld))).toBe(plaintext)
        expect((yield* box.seal(key("x"))).startsWith("v1.scrypt.")).toBe(true)
      }).pipe(Effect.provide(live))
    })
  )
})
