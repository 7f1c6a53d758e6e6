import type { Data, DataType } from "apache-arrow"
import type { Selection } from "./ArrowSelection.js"
import type { NativeVector } from "./RawVector.js"

/** One DuckDB type as an Arrow type, and how to turn a native vector into Arrow data (ArrowColumns.ts maps each type). */
export interface ArrowColumn {
  readonly type: DataType
  readonly metadata?: Map<string, string>
  build(vector: NativeVector, size: number, selection: Selection): Data
}

export interface ArrowContext {
  /** Dictionary ids must be unique across the schema. */
  nextDictionaryId: number
}
