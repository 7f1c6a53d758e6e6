import type { DuckDBPreparedStatement } from "@duckdb/node-api"
import { Either } from "effect"
import { InvalidRequest } from "../domain/Errors.js"

// Provisional: replaced by the results work (issue 3), which owns this module.
export const bindParams = (
  prepared: DuckDBPreparedStatement,
  params: unknown
): Either.Either<void, InvalidRequest> => {
  const count = prepared.parameterCount
  if (params === undefined) {
    return count === 0
      ? Either.void
      : Either.left(new InvalidRequest({ message: `the statement expects ${count} params` }))
  }
  if (!Array.isArray(params) || params.length !== count) {
    return Either.left(new InvalidRequest({ message: `the statement expects ${count} params` }))
  }
  prepared.bind(params as never)
  return Either.void
}
