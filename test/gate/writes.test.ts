import type { DuckDBValue } from "@duckdb/node-api"
import { afterAll, beforeAll, describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { StatementGate } from "../../src/gate/StatementGate.js"
import { createGateFixture, type GateFixture, type Snapshot } from "./fixture.js"
import { runGate } from "./gateRun.js"
import { readsAfterWrites, writeCorpus } from "./legitimateCorpus.js"

let fixture: GateFixture
let before: Snapshot
beforeAll(async () => {
  fixture = await createGateFixture()
  before = await fixture.snapshot()
})
afterAll(() => fixture.close())

// One fixture, in order: the read-only refusals change nothing, then the writes run for real.
layer(StatementGate.Default)("DDL/DML on the instance's own catalog", (it) => {
  describe("readOnly: true", () => {
    for (const entry of writeCorpus) {
      it.effect(`${entry.name} → read_only`, () =>
        Effect.gen(function* () {
          const result = yield* runGate(fixture.client, entry.sql, { readOnly: true })
          expect(result.outcome, result.message).toBe("read_only")
          expect(result.message).toContain(entry.queryType.split(" ")[0])
          expect(yield* Effect.promise(() => fixture.snapshot())).toEqual(before)
        })
      )
    }
  })

  describe("readOnly: false", () => {
    for (const entry of writeCorpus) {
      it.effect(`${entry.name} → ok`, () =>
        Effect.gen(function* () {
          const result = yield* runGate(fixture.client, entry.sql, { readOnly: false })
          expect(result.outcome, result.message).toBe("ok")
          const verdict = result.verdict!
          expect(verdict.queryType).toBe(entry.queryType)
          expect(verdict.writes).toBe(true)
          // The cache path: the verdict's own text prepares to the same kind of statement.
          const again = yield* StatementGate.prepareVerified(fixture.client, verdict)
          expect(again.statementType).toBe(verdict.statementType)
          again.destroySync()
          const prepared = result.prepared!
          if (entry.params !== undefined) prepared.bind([...entry.params] as Array<DuckDBValue>)
          yield* Effect.promise(() => prepared.run())
          prepared.destroySync()
        })
      )
    }

    for (const entry of readsAfterWrites) {
      it.effect(`then: ${entry.name}`, () =>
        Effect.gen(function* () {
          const result = yield* runGate(fixture.client, entry.sql, { readOnly: false })
          const rows = (yield* Effect.promise(() => result.prepared!.runAndReadAll())).getRowsJson()
          result.prepared!.destroySync()
          expect(rows).toEqual(entry.rows)
        })
      )
    }

    it.effect("nothing outside the memory catalog changed", () =>
      Effect.gen(function* () {
        const after = yield* Effect.promise(() => fixture.snapshot())
        expect(after.files).toEqual(before.files)
        expect(after.settings).toEqual(before.settings)
        const orders = yield* Effect.promise(() =>
          fixture.server.runAndReadAll("SELECT count(*), sum(total) FROM att.orders")
        )
        expect(orders.getRowsJson()).toEqual([["50", 1912.5]])
      })
    )
  })
})
