import { type DuckDBDataChunk, type DuckDBType, DuckDBTypeId } from "@duckdb/node-api"
import { Output } from "./ByteOutput.js"
import { chunkColumn, isValid, StringItems } from "./RawVector.js"
import { base64Text } from "./ScalarText.js"

/**
 * Strings as bytes of CSV and JSON, written from DuckDB's UTF-8 without a JavaScript string; and the
 * same for a huge string in slices. Encoding one value of tens of megabytes in one go holds the event
 * loop for seconds (every other request waits), so a value above `hugeValueBytes` (RawVector.ts) is encoded
 * `sliceBytes` at a time and the transport yields to the event loop between slices. Escaping is per
 * byte, so a slice boundary anywhere gives the same bytes as the whole value. Each slice is read
 * from DuckDB on its own (`read`), so no step copies the whole value either. A huge BLOB goes the
 * same way as its base64 (`base64Slices`).
 */
const sliceBytes = 64 * 1024

const comma = 0x2c
const quote = 0x22
const backslash = 0x5c
const cr = 0x0d
const lf = 0x0a
const empty = new Uint8Array(0)

const csvNeedsQuotesIn = (bytes: Uint8Array, start: number, end: number): boolean => {
  for (let i = start; i < end; i++) {
    const b = bytes[i]!
    if (b === comma || b === quote || b === cr || b === lf) return true
  }
  return false
}

const csvNeedsQuotes = (bytes: Uint8Array): boolean => csvNeedsQuotesIn(bytes, 0, bytes.length)

/** The inside of a quoted CSV field from bytes [start, end): quotes doubled. */
const csvQuotedIn = (out: Output, bytes: Uint8Array, start: number, end: number): void => {
  for (let i = start; i < end; i++) {
    if (bytes[i] === quote) out.byte(quote)
    out.byte(bytes[i]!)
  }
}

const csvQuoted = (out: Output, bytes: Uint8Array): void => csvQuotedIn(out, bytes, 0, bytes.length)

export const csvString = (out: Output, bytes: Uint8Array): void => csvStringIn(out, bytes, 0, bytes.length)

/** `csvString` of bytes [start, end) of `bytes`. */
export const csvStringIn = (out: Output, bytes: Uint8Array, start: number, end: number): void => {
  if (end === start) {
    out.byte(quote)
    out.byte(quote)
  } else if (!csvNeedsQuotesIn(bytes, start, end)) {
    out.range(bytes, start, end)
  } else {
    out.byte(quote)
    csvQuotedIn(out, bytes, start, end)
    out.byte(quote)
  }
}

const hex = "0123456789abcdef"
const shortEscapes: Record<number, number> = { 8: 0x62, 9: 0x74, 10: 0x6e, 12: 0x66, 13: 0x72 }

/**
 * The inside of a JSON string as `JSON.stringify` writes it, from bytes [start, end) (DuckDB's
 * strings are valid UTF-8: bytes pass through).
 */
const jsonEscapedIn = (out: Output, bytes: Uint8Array, start: number, end: number): void => {
  let clean = start
  for (let i = start; i < end; i++) {
    const b = bytes[i]!
    if (b >= 0x20 && b !== quote && b !== backslash) continue
    if (i > clean) out.range(bytes, clean, i)
    out.byte(backslash)
    const short = shortEscapes[b]
    if (b === quote || b === backslash) out.byte(b)
    else if (short !== undefined) out.byte(short)
    else out.ascii(`u00${hex[b >> 4]}${hex[b & 15]}`)
    clean = i + 1
  }
  if (end > clean) out.range(bytes, clean, end)
}

const jsonEscaped = (out: Output, bytes: Uint8Array): void => jsonEscapedIn(out, bytes, 0, bytes.length)

export const jsonString = (out: Output, bytes: Uint8Array): void => jsonStringIn(out, bytes, 0, bytes.length)

/** `jsonString` of bytes [start, end) of `bytes`. */
export const jsonStringIn = (out: Output, bytes: Uint8Array, start: number, end: number): void => {
  out.byte(quote)
  jsonEscapedIn(out, bytes, start, end)
  out.byte(quote)
}

/** Reads bytes [start, end) of a huge value. */
type Read = (start: number, end: number) => Uint8Array

/** A huge string as JSON, one slice of its bytes per part. */
function* jsonSlices(length: number, read: Read): Generator<Uint8Array> {
  const out = new Output()
  out.byte(quote)
  for (let start = 0; start < length; start += sliceBytes) {
    const end = Math.min(start + sliceBytes, length)
    jsonEscaped(out, read(start, end))
    if (end === length) out.byte(quote)
    yield out.take()
  }
}

/**
 * A huge string as a CSV field. Whether it needs quotes is known only at its end, so the test runs
 * first, a slice per part (empty parts). Every part is a copy the caller owns: the transport may keep
 * it after the chunk it comes from is gone.
 */
function* csvSlices(length: number, read: Read): Generator<Uint8Array> {
  let quoted = false
  for (let start = 0; start < length && !quoted; start += sliceBytes) {
    quoted = csvNeedsQuotes(read(start, Math.min(start + sliceBytes, length)))
    yield empty
  }
  const out = new Output()
  if (quoted) out.byte(quote)
  for (let start = 0; start < length; start += sliceBytes) {
    const end = Math.min(start + sliceBytes, length)
    if (!quoted) {
      yield read(start, end)
      continue
    }
    csvQuoted(out, read(start, end))
    if (end === length) out.byte(quote)
    yield out.take()
  }
}

/**
 * BLOB bytes per slice: a multiple of 3, so no slice's base64 but the last has padding and the
 * slices' base64 joined is the whole value's.
 */
const blobSliceBytes = 48 * 1024

/**
 * A huge BLOB as base64, quoted in JSON. CSV never quotes it: base64 holds no comma, quote or line
 * break, and a huge value is not empty. Each part is a copy the caller owns.
 */
function* base64Slices(quoted: boolean, length: number, read: Read): Generator<Uint8Array> {
  for (let start = 0; start < length; start += blobSliceBytes) {
    const end = Math.min(start + blobSliceBytes, length)
    const open = quoted && start === 0 ? '"' : ""
    const close = quoted && end === length ? '"' : ""
    yield Buffer.from(`${open}${base64Text(read(start, end))}${close}`, "latin1")
  }
}

/** A column whose values may be huge (VARCHAR, JSON, BLOB), in one chunk. */
export interface HugeItems {
  readonly items: StringItems
  readonly blob: boolean
}

/** Item `row` of `huge`, a huge string or BLOB, as CSV or JSON in parts. */
export const valueSlices = (dialect: "csv" | "json", huge: HugeItems, row: number): Generator<Uint8Array> => {
  const { items, blob } = huge
  const length = items.lengthAt(row)
  const read = items.rangeReader(row)
  if (blob) return base64Slices(dialect === "json", length, read)
  return dialect === "csv" ? csvSlices(length, read) : jsonSlices(length, read)
}

/**
 * The bytes of a chunk that holds a huge value, as parts that each take a bounded amount of work;
 * whoever drains them yields to the event loop between parts. Used once per such chunk, never on
 * the path of ordinary chunks.
 */
export class Slices {
  /** Every part was taken: a stop before that cuts the result inside a value. */
  finished = false

  constructor(private readonly source: Iterable<Uint8Array>) {}

  *parts(): Generator<Uint8Array> {
    yield* this.source
    this.finished = true
  }
}

/**
 * The abort marker, unless the result was cut inside a huge value: a marker there would be read as
 * the rest of the value (or break a UTF-8 sequence); the broken transfer is the signal instead.
 */
export const markerUnlessCut = (slices: Slices | undefined, marker: () => Uint8Array): Uint8Array =>
  slices !== undefined && !slices.finished ? new Uint8Array(0) : marker()

/**
 * Thrown by a writer that meets a huge value on the ordinary path; the encoder drops what it wrote
 * of the chunk and starts it again in slices. The ordinary path thus pays one length comparison per
 * VARCHAR value and nothing per chunk. One instance: it is a signal, never seen outside an encoder.
 */
export const hugeValue = new Error("a value above hugeValueBytes: encode the chunk in slices")

/** All the parts at once, for callers that want one buffer (the transport does not). */
export const drain = (bytes: Uint8Array | Slices): Uint8Array =>
  bytes instanceof Slices ? Buffer.concat([...bytes.parts()]) : bytes

/** Parts end at row boundaries once this many bytes are pending: small values add up too. */
export const partBytes = sliceBytes

/** A column whose values may be huge: a VARCHAR (a JSON column is one too) or a BLOB. */
export interface SliceableColumn {
  readonly column: number
  readonly blob: boolean
}

export const sliceableColumns = (
  columns: ReadonlyArray<{ readonly type: DuckDBType }>
): ReadonlyArray<SliceableColumn> =>
  columns.flatMap((column, c) => {
    const typeId = column.type.typeId
    return typeId === DuckDBTypeId.VARCHAR || typeId === DuckDBTypeId.BLOB
      ? [{ column: c, blob: typeId === DuckDBTypeId.BLOB }]
      : []
  })

/** Per sliceable column, its items in `chunk` (for `isHuge` and `valueSlices`). */
export const hugeItems = (
  chunk: DuckDBDataChunk,
  sliceable: ReadonlyArray<SliceableColumn>
): ReadonlyArray<HugeItems | undefined> => {
  const items: Array<HugeItems | undefined> = []
  for (const { column, blob } of sliceable)
    items[column] = { items: new StringItems(chunkColumn(chunk.chunk, column), chunk.rowCount), blob }
  return items
}

/** Item `row` is a value longer than `hugeValueBytes` (a NULL item's length is not read as one). */
export const isHuge = (huge: HugeItems | undefined, row: number): huge is HugeItems =>
  huge?.items.isHugeAt(row) === true && isValid(huge.items.validity, row)
