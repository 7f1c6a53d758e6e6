import type { Data, DataType } from "apache-arrow"
import type { Selection } from "./ArrowSelection.js"
import type { NativeVector } from "./RawVector.js"

/** One DuckDB type as an Arrow type, and how to turn a native vector into Arrow data (ArrowColumns.ts maps each type). */
export interface ArrowColumn {
  readonly type: DataType
  readonly metadata?: Map<string, string>
  /** `later`: copies a builder leaves to be made in steps before the batch is written (a huge value's bytes). */
  build(vector: NativeVector, size: number, selection: Selection, later: Later): Data
}

/**
 * Work left for later, each a generator whose every step is a bounded piece of it (`ArrowEncoder`
 * runs them a step per turn of the event loop, before it writes the batch they fill).
 */
export type Later = Array<Generator<void, void, undefined>>

export interface ArrowContext {
  /** Dictionary ids must be unique across the schema. */
  nextDictionaryId: number
}
