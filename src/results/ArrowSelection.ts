import { type NativeVector, validityOf } from "./RawVector.js"

/**
 * Which items of a native vector become one Arrow array: `count` items from `start`, or — when a
 * parent took its children out of order or repeatedly (a LIST whose entries overlap) — the items at
 * `indices`.
 */
export interface Selection {
  readonly indices: Int32Array | null
  readonly start: number
  readonly count: number
}

export const rangeSelection = (start: number, count: number): Selection => ({ indices: null, start, count })

export const sourceRow = (selection: Selection, k: number): number =>
  selection.indices === null ? selection.start + k : selection.indices[k]!

/** Arrow's validity for a selection: DuckDB's own bits (same layout) when the selection starts at 0. */
export interface SelectionBitmap {
  readonly nullCount: number
  readonly nullBitmap?: Uint8Array
}

export const isValidAt = (bitmap: SelectionBitmap, k: number): boolean =>
  bitmap.nullBitmap === undefined || (bitmap.nullBitmap[k >> 3]! & (1 << (k & 7))) !== 0

const bitsInByte = Uint8Array.from({ length: 256 }, (_, i) => {
  let n = 0
  for (let b = i; b !== 0; b >>= 1) n += b & 1
  return n
})

const allValid: SelectionBitmap = { nullCount: 0 }

export const selectionBitmap = (
  vector: NativeVector,
  size: number,
  selection: Selection
): SelectionBitmap => {
  const validity = validityOf(vector, size)
  if (validity === null) return allValid
  const { count, indices, start } = selection
  if (indices === null && start === 0) {
    let valid = 0
    const fullBytes = count >> 3
    for (let b = 0; b < fullBytes; b++) valid += bitsInByte[validity[b]!]!
    if ((count & 7) !== 0) valid += bitsInByte[validity[fullBytes]! & ((1 << (count & 7)) - 1)]!
    return valid === count
      ? allValid
      : { nullCount: count - valid, nullBitmap: validity.subarray(0, Math.ceil(count / 8)) }
  }
  const bits = new Uint8Array(Math.ceil(count / 8))
  let nullCount = 0
  for (let k = 0; k < count; k++) {
    const row = indices === null ? start + k : indices[k]!
    if ((validity[row >> 3]! & (1 << (row & 7))) !== 0) bits[k >> 3]! |= 1 << (k & 7)
    else nullCount++
  }
  return nullCount === 0 ? allValid : { nullCount, nullBitmap: bits }
}
