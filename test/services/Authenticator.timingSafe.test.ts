import * as crypto from "node:crypto"
import { Headers } from "@effect/platform"
import { Effect, Exit } from "effect"
import { describe, expect, it, vi } from "vitest"
import { apiKeyPrincipal } from "../../src/domain/Principal.js"
import { makeAuthenticate } from "../../src/services/Authenticator.js"
import { settingsFrom } from "./authSettings.js"

vi.mock("node:crypto", async (importOriginal) => {
  const original = await importOriginal<typeof import("node:crypto")>()
  return { ...original, timingSafeEqual: vi.fn(original.timingSafeEqual) }
})

const keys = ["first-key-aaaaaaaaaaaa", "second-key-bbbbbbbbbbb", "third-key-ccccccccccccc"]

describe("api-key comparison", () => {
  it("compares fixed-length digests with timingSafeEqual against every key, matching or not", async () => {
    const authenticate = await Effect.runPromise(
      makeAuthenticate(settingsFrom("{}", { API_KEY: keys.join(",") }))
    )
    const compare = vi.mocked(crypto.timingSafeEqual)
    const cases = [
      [keys[0]!, true],
      [keys[2]!, true],
      ["wrong", false],
      ["x".repeat(5000), false]
    ] as const
    for (const [presented, accepted] of cases) {
      compare.mockClear()
      const exit = await Effect.runPromiseExit(authenticate(Headers.fromInput({ "x-api-key": presented })))
      expect(Exit.isSuccess(exit)).toBe(accepted)
      const lengths = compare.mock.calls.map(([left, right]) => [
        (left as Buffer).byteLength,
        (right as Buffer).byteLength
      ])
      expect(lengths).toEqual(keys.map(() => [32, 32]))
    }
    const principal = await Effect.runPromise(authenticate(Headers.fromInput({ "x-api-key": keys[0]! })))
    expect(principal).toEqual(apiKeyPrincipal(keys[0]!))
  })
})
