import type { DuckDBConnection, DuckDBPreparedStatement } from "@duckdb/node-api"
import { Effect } from "effect"
import { type GateError, type GatePolicy, StatementGate, type Verdict } from "../../src/gate/StatementGate.js"
import type { Outcome } from "./corpus.js"

export interface GateResult {
  readonly outcome: Outcome
  readonly message?: string
  readonly verdict?: Verdict
  readonly prepared?: DuckDBPreparedStatement
}

/**
 * Runs the gate and flattens its answer into the contract's error code. With `prepare: false` only
 * `decide` runs: resource bombs already explode while being prepared (constant folding).
 */
export const runGate = (connection: DuckDBConnection, sql: string, policy: GatePolicy, prepare = true) => {
  const gate: Effect.Effect<GateResult, GateError, StatementGate> = prepare
    ? Effect.map(StatementGate.inspect(connection, sql, policy), ({ verdict, prepared }) => ({
        outcome: "ok",
        verdict,
        prepared
      }))
    : Effect.map(StatementGate.decide(connection, sql, policy), (verdict) => ({ outcome: "ok", verdict }))
  return Effect.catchAll(gate, (error) =>
    Effect.succeed<GateResult>({ outcome: error.code, message: error.message })
  )
}

/** Refusal messages name the construct and are never stack traces. */
export const looksLikeStackTrace = (message: string) => /\n\s+at\s|Error:\s*$|\.ts:\d+/.test(message)
