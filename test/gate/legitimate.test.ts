import type { DuckDBValue } from "@duckdb/node-api"
import { afterAll, beforeAll, describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { StatementGate } from "../../src/gate/StatementGate.js"
import { createGateFixture, type GateFixture } from "./fixture.js"
import { runGate } from "./gateRun.js"
import { legitimateCorpus } from "./legitimateCorpus.js"

let fixture: GateFixture
beforeAll(async () => {
  fixture = await createGateFixture()
})
afterAll(() => fixture.close())

layer(StatementGate.Default)("legitimate analytics", (it) => {
  for (const readOnly of [true, false]) {
    describe(readOnly ? "readOnly: true" : "readOnly: false", () => {
      for (const entry of legitimateCorpus) {
        it.effect(entry.name, () =>
          Effect.gen(function* () {
            const before = yield* Effect.promise(() => fixture.snapshot())
            const result = yield* runGate(fixture.client, entry.sql, { readOnly })
            expect(result.outcome, result.message).toBe("ok")
            if (entry.queryType !== undefined) expect(result.verdict?.queryType).toBe(entry.queryType)
            expect(result.verdict?.writes).toBe(false)
            const prepared = result.prepared!
            if (entry.params !== undefined) prepared.bind([...entry.params] as Array<DuckDBValue>)
            const rows = (yield* Effect.promise(() => prepared.runAndReadAll())).getRowsJson()
            prepared.destroySync()
            if (entry.rows !== undefined) expect(rows).toEqual(entry.rows)
            expect(rows.length).toBeGreaterThanOrEqual(entry.minRows ?? 1)
            expect(yield* Effect.promise(() => fixture.snapshot())).toEqual(before)
          })
        )
      }
    })
  }
})
