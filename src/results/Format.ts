import { Either } from "effect"
import { InvalidRequest, type NotAcceptable } from "../domain/Errors.js"

// Provisional: replaced by the results work (issue 3), which owns this module.
export type ResultFormat = "json" | "ndjson" | "csv" | "arrow"

export const negotiateFormat = (
  formatParam: string | undefined,
  _accept: string | undefined
): Either.Either<ResultFormat, InvalidRequest | NotAcceptable> =>
  formatParam === undefined || formatParam === "json"
    ? Either.right("json")
    : Either.left(new InvalidRequest({ message: "format must be json" }))
