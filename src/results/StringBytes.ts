import type { Output } from "./ByteOutput.js"
import { base64Text } from "./ScalarText.js"

/**
 * Strings as bytes of CSV and JSON, written from DuckDB's UTF-8 without a JavaScript string; and the
 * same for a huge string in slices. Encoding one value of tens of megabytes in one go holds the event
 * loop for seconds (every other request waits), so a value above `hugeValueBytes` (RawVector.ts) is encoded
 * `sliceBytes` at a time and the transport yields to the event loop between slices. Escaping is per
 * byte, so a slice boundary anywhere gives the same bytes as the whole value. Each slice is read
 * from DuckDB on its own (`read`), so no step copies the whole value either. A huge BLOB goes the
 * same way as its base64 (`base64Parts`), a huge BIT as its text (`bitParts`); ValueParts.ts puts
 * them together for values of every type.
 */
const sliceBytes = 64 * 1024

const comma = 0x2c
const quote = 0x22
const backslash = 0x5c
const cr = 0x0d
const lf = 0x0a

const csvNeedsQuotesIn = (bytes: Uint8Array, start: number, end: number): boolean => {
  for (let i = start; i < end; i++) {
    const b = bytes[i]!
    if (b === comma || b === quote || b === cr || b === lf) return true
  }
  return false
}

/** `bytes` hold a comma, quote or line break: the CSV field they are in needs quotes. */
export const csvNeedsQuotes = (bytes: Uint8Array): boolean => csvNeedsQuotesIn(bytes, 0, bytes.length)

/** The inside of a quoted CSV field from bytes [start, end): quotes doubled. */
const csvQuotedIn = (out: Output, bytes: Uint8Array, start: number, end: number): void => {
  for (let i = start; i < end; i++) {
    if (bytes[i] === quote) out.byte(quote)
    out.byte(bytes[i]!)
  }
}

export const csvQuoted = (out: Output, bytes: Uint8Array): void => csvQuotedIn(out, bytes, 0, bytes.length)

export const csvString = (out: Output, bytes: Uint8Array): void => csvStringIn(out, bytes, 0, bytes.length)

/**
 * Up to this many bytes a field is copied while it is checked for quotes, in one pass: for strings
 * of 20–40 bytes that is about 20% faster than a scan and then a `range` copy (a `subarray` and a
 * native call past 16 bytes); longer ones are scanned and then copied natively.
 */
const shortField = 64

/** `csvString` of bytes [start, end) of `bytes`. */
export const csvStringIn = (out: Output, bytes: Uint8Array, start: number, end: number): void => {
  if (end === start) {
    out.byte(quote)
    out.byte(quote)
    return
  }
  if (end - start <= shortField) {
    const buffer = out.ensure(end - start)
    let at = out.length
    let i = start
    for (; i < end; i++) {
      const b = bytes[i]!
      if (b === comma || b === quote || b === cr || b === lf) break
      buffer[at++] = b
    }
    if (i === end) {
      out.length = at
      return
    }
  }
  if (!csvNeedsQuotesIn(bytes, start, end)) {
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

/** Reads bytes [start, end) of a huge value, as a copy the caller owns. */
export type Read = (start: number, end: number) => Uint8Array

/**
 * The parts of a value: each step writes into `out` (after what is pending there) and hands over
 * `out.take()` or a copy of its own; the caller owns every part (the transport may keep it after the
 * chunk is gone). What a step leaves pending in `out` the caller writes on with.
 */
export type Parts = Generator<Uint8Array, void, undefined>

/** A huge string as JSON, one slice of its bytes per part. */
export function* jsonStringParts(out: Output, length: number, read: Read): Parts {
  out.byte(quote)
  for (let start = 0; start < length; start += sliceBytes) {
    const end = Math.min(start + sliceBytes, length)
    jsonEscaped(out, read(start, end))
    if (end === length) out.byte(quote)
    yield out.take()
  }
}

/** A huge string's bytes as they are (CSV text before quoting), one slice per part. */
export function* rawParts(out: Output, length: number, read: Read): Parts {
  yield out.take()
  for (let start = 0; start < length; start += sliceBytes)
    yield read(start, Math.min(start + sliceBytes, length))
}

/**
 * BLOB bytes per slice: a multiple of 3, so no slice's base64 but the last has padding and the
 * slices' base64 joined is the whole value's.
 */
const blobSliceBytes = 48 * 1024

/** A huge BLOB as base64, quoted in JSON (CSV never quotes it: base64 holds no comma, quote or line break). */
export function* base64Parts(out: Output, quoted: boolean, length: number, read: Read): Parts {
  if (quoted) out.byte(quote)
  for (let start = 0; start < length; start += blobSliceBytes) {
    const end = Math.min(start + blobSliceBytes, length)
    out.ascii(base64Text(read(start, end)))
    if (quoted && end === length) out.byte(quote)
    yield out.take()
  }
}

/** BIT bytes per slice: 64 Ki characters of text. */
const bitSliceBytes = sliceBytes / 8

/**
 * A huge BIT as its text of 0s and 1s, quoted in JSON: byte 0 counts the padding bits at the top of
 * byte 1, which the text leaves out (as `bitText` does).
 */
export function* bitParts(out: Output, quoted: boolean, length: number, read: Read): Parts {
  if (quoted) out.byte(quote)
  let padding = read(0, 1)[0]!
  for (let start = 1; start < length; start += bitSliceBytes) {
    const end = Math.min(start + bitSliceBytes, length)
    const bytes = read(start, end)
    const buffer = out.ensure(8 * bytes.length)
    let at = out.length
    for (const byte of bytes) {
      for (let bit = 7 - padding; bit >= 0; bit--) buffer[at++] = 48 + ((byte >> bit) & 1)
      padding = 0
    }
    out.length = at
    if (quoted && end === length) out.byte(quote)
    yield out.take()
  }
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
 * Thrown by a reader or writer that meets a huge value on the ordinary path (a string, BLOB or BIT
 * above its threshold, or a nested value whose text grows beyond `hugeNestedChars`), always before it
 * writes anything of that value; the encoder drops what it wrote of the chunk and starts it again
 * in slices (ValueParts.ts). The ordinary path thus pays one length comparison per such value and
 * nothing per chunk. One instance: it is a signal, never seen outside an encoder.
 */
export const hugeValue = new Error("a value above hugeValueBytes: encode the chunk in slices")

/** All the parts at once, for callers that want one buffer (the transport does not). */
export const drain = (bytes: Uint8Array | Slices): Uint8Array =>
  bytes instanceof Slices ? Buffer.concat([...bytes.parts()]) : bytes

/** Parts end at row boundaries once this many bytes are pending: small values add up too. */
export const partBytes = sliceBytes
