import { afterAll, beforeAll, describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { StatementGate } from "../../src/gate/StatementGate.js"
import { adversarialCorpus } from "./corpus.js"
import { createGateFixture, type GateFixture } from "./fixture.js"
import { looksLikeStackTrace, runGate } from "./gateRun.js"

let fixture: GateFixture
beforeAll(async () => {
  fixture = await createGateFixture()
})
afterAll(() => fixture.close())

layer(StatementGate.Default)("adversarial corpus", (it) => {
  for (const readOnly of [true, false]) {
    describe(readOnly ? "readOnly: true" : "readOnly: false", () => {
      for (const entry of adversarialCorpus) {
        const expected = readOnly ? entry.readOnly : entry.readWrite
        it.effect(`${entry.name} → ${expected}`, () =>
          Effect.gen(function* () {
            const sql = fixture.materialize(entry.sql)
            const before = yield* Effect.promise(() => fixture.snapshot())
            // Resource bombs go off while being prepared; the HTTP tests run them under a timeout.
            const result = yield* runGate(fixture.client, sql, { readOnly }, entry.resourceBomb !== true)
            expect(result.outcome, result.message).toBe(expected)
            if (result.message !== undefined) {
              expect(looksLikeStackTrace(result.message)).toBe(false)
              if (result.outcome === "forbidden_statement" && entry.mentions !== undefined) {
                expect(result.message).toContain(entry.mentions)
              }
              if (result.outcome === "read_only") expect(result.message).toContain("read-only")
            }
            if (result.prepared !== undefined) {
              const prepared = result.prepared
              yield* Effect.promise(() => prepared.runAndReadAll())
              prepared.destroySync()
            }
            expect(yield* Effect.promise(() => fixture.snapshot())).toEqual(before)
          })
        )
      }
    })
  }
})
