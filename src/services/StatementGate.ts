import { type DuckDBConnection, type DuckDBPreparedStatement, StatementType } from "@duckdb/node-api"
import { Effect } from "effect"
import { ForbiddenStatement, InvalidRequest, ReadOnly, SqlError } from "../domain/Errors.js"

// Provisional: replaced by the security work (issue 5), which owns this module.
export interface GatePolicy {
  readonly readOnly: boolean
}
export interface Verdict {
  readonly statementType: StatementType
  readonly queryType: string
}

const reads = new Set([StatementType.SELECT, StatementType.EXPLAIN])

export class StatementGate extends Effect.Service<StatementGate>()("pondpilot/StatementGate", {
  succeed: {
    inspect: (
      connection: DuckDBConnection,
      sql: string,
      policy: GatePolicy
    ): Effect.Effect<
      { readonly verdict: Verdict; readonly prepared: DuckDBPreparedStatement },
      InvalidRequest | SqlError | ForbiddenStatement | ReadOnly
    > =>
      Effect.gen(function* () {
        const extracted = yield* Effect.tryPromise({
          try: () => connection.extractStatements(sql),
          catch: (error) => new SqlError({ message: String((error as Error).message ?? error) })
        })
        if (extracted.count !== 1) {
          return yield* new InvalidRequest({ message: "exactly one SQL statement per request" })
        }
        const prepared = yield* Effect.tryPromise({
          try: () => extracted.prepare(0),
          catch: (error) => new SqlError({ message: String((error as Error).message ?? error) })
        })
        const statementType = prepared.statementType
        if (!reads.has(statementType)) {
          prepared.destroySync()
          if (policy.readOnly) return yield* new ReadOnly({ message: "only read statements are allowed" })
          return yield* new ForbiddenStatement({ message: `${StatementType[statementType]} is not allowed` })
        }
        return { verdict: { statementType, queryType: StatementType[statementType] ?? "UNKNOWN" }, prepared }
      })
  }
}) {}
