import { Field, FixedSizeList, List, Map_, makeData, Struct } from "apache-arrow"
import type { ArrowColumn } from "./ArrowColumn.js"
import { isValidAt, rangeSelection, type Selection, selectionBitmap, sourceRow } from "./ArrowSelection.js"
import { arrayChild, ListEntries, type NativeVector, structChild } from "./RawVector.js"

export const fieldOf = (name: string, column: ArrowColumn, nullable = true): Field =>
  new Field(name, column.type, nullable, column.metadata ?? null)

/**
 * The child items a list selection covers, with Arrow's offsets. DuckDB usually lays list children
 * out in order, so the child is one range; when entries overlap or skip (a constant list repeated
 * over rows, a filtered result) the child items are gathered by index instead.
 */
const listLayout = (vector: NativeVector, size: number, selection: Selection) => {
  const entries = new ListEntries(vector, size)
  const bitmap = selectionBitmap(vector, size, selection)
  const { count } = selection
  const offsets = new Int32Array(count + 1)
  let total = 0
  let first = 0
  let next = -1
  let contiguous = true
  for (let k = 0; k < count; k++) {
    if (isValidAt(bitmap, k)) {
      const row = sourceRow(selection, k)
      const length = entries.lengthAt(row)
      if (length > 0) {
        const offset = entries.offsetAt(row)
        if (next === -1) first = offset
        else if (offset !== next) contiguous = false
        next = offset + length
        total += length
      }
    }
    offsets[k + 1] = total
  }
  let child: Selection = rangeSelection(first, total)
  if (!contiguous) {
    const indices = new Int32Array(total)
    for (let k = 0; k < count; k++) {
      const length = offsets[k + 1]! - offsets[k]!
      if (length === 0) continue
      const offset = entries.offsetAt(sourceRow(selection, k))
      for (let j = 0; j < length; j++) indices[offsets[k]! + j] = offset + j
    }
    child = { indices, start: 0, count: total }
  }
  return { entries, bitmap, offsets, child }
}

export const listColumn = (item: ArrowColumn): ArrowColumn => {
  const type = new List(fieldOf("item", item))
  return {
    type,
    build: (vector, size, selection, later) => {
      const { entries, bitmap, offsets, child } = listLayout(vector, size, selection)
      return makeData({
        type,
        length: selection.count,
        ...bitmap,
        valueOffsets: offsets,
        child: item.build(entries.child, entries.childSize, child, later)
      })
    }
  }
}

export const arrayColumn = (item: ArrowColumn, length: number): ArrowColumn => {
  const type = new FixedSizeList(length, fieldOf("item", item))
  return {
    type,
    build: (vector, size, selection, later) => {
      const { count, indices, start } = selection
      let child: Selection = rangeSelection(start * length, count * length)
      if (indices !== null) {
        const childIndices = new Int32Array(count * length)
        for (let k = 0; k < count; k++) {
          for (let j = 0; j < length; j++) childIndices[k * length + j] = indices[k]! * length + j
        }
        child = { indices: childIndices, start: 0, count: count * length }
      }
      return makeData({
        type,
        length: count,
        ...selectionBitmap(vector, size, selection),
        child: item.build(arrayChild(vector), size * length, child, later)
      })
    }
  }
}

export const structColumn = (
  names: ReadonlyArray<string>,
  fields: ReadonlyArray<ArrowColumn>
): ArrowColumn => {
  const type = new Struct(fields.map((field, k) => fieldOf(names[k]!, field)))
  return {
    type,
    build: (vector, size, selection, later) =>
      makeData({
        type,
        length: selection.count,
        ...selectionBitmap(vector, size, selection),
        children: fields.map((field, k) => field.build(structChild(vector, k), size, selection, later))
      })
  }
}

/** A MAP is a list of (key, value) structs in DuckDB and in Arrow; Arrow wants the keys non-null, as DuckDB's are. */
export const mapColumn = (key: ArrowColumn, value: ArrowColumn): ArrowColumn => {
  const entriesType = new Struct([fieldOf("key", key, false), fieldOf("value", value)])
  const type = new Map_(new Field("entries", entriesType, false))
  return {
    type,
    build: (vector, size, selection, later) => {
      const { entries, bitmap, offsets, child } = listLayout(vector, size, selection)
      const entryStruct = makeData({
        type: entriesType,
        length: child.count,
        nullCount: 0,
        children: [
          key.build(structChild(entries.child, 0), entries.childSize, child, later),
          value.build(structChild(entries.child, 1), entries.childSize, child, later)
        ]
      })
      return makeData({ type, length: selection.count, ...bitmap, valueOffsets: offsets, child: entryStruct })
    }
  }
}
