import duckdb from "@duckdb/node-bindings"

/**
 * Direct reads of DuckDB's native vectors. The node client's vector classes allocate a value object
 * per item (and test validity with BigInt arithmetic); the encoders instead view each vector's memory
 * as typed arrays once per chunk and read items by index. Layouts are DuckDB's in-memory formats,
 * which the C API exposes as is (little-endian on every platform DuckDB ships for).
 *
 * Every view is only valid while the chunk it came from is alive: encoders consume it within the call
 * that received the chunk and keep nothing.
 */
export type NativeVector = duckdb.Vector

/** Validity bits, one per item, least significant bit first; `null` when every item is valid. */
export type Validity = Uint8Array | null

export const validityOf = (vector: NativeVector, size: number): Validity =>
  size === 0 ? null : duckdb.vector_get_validity(vector, Math.ceil(size / 64) * 8)

export const isValid = (validity: Validity, index: number): boolean =>
  validity === null || (validity[index >> 3]! & (1 << (index & 7))) !== 0

const emptyBytes = new Uint8Array(0)
const emptyBuffer = Buffer.alloc(0)

/** The vector's data buffer, `width` bytes per item. */
export const bytesOf = (vector: NativeVector, size: number, width: number): Uint8Array =>
  size === 0 ? emptyBytes : duckdb.vector_get_data(vector, size * width)

/** `width` 4-byte words per item (`width` 2 for 64-bit values, 4 for 128-bit ones). */
export const uint32sOf = (vector: NativeVector, size: number, width = 1): Uint32Array => {
  const b = bytesOf(vector, size, 4 * width)
  return new Uint32Array(b.buffer, b.byteOffset, size * width)
}

const twoTo32 = 4294967296

/**
 * Strings longer than this are encoded a slice at a time (StringBytes.ts), and never copied out of
 * DuckDB together with their neighbours (`findRuns`): only when one is asked for whole.
 */
export const hugeValueBytes = 64 * 1024

/** A BIT above this many bytes is encoded in slices: eight characters of text a byte. */
export const hugeBitBytes = hugeValueBytes / 8

/**
 * A nested value (LIST, ARRAY, STRUCT, MAP) whose JSON grows beyond this many characters while it is
 * built is encoded in slices too (ValueParts.ts): a list of millions of numbers is as huge as one
 * string. Larger than `hugeValueBytes` because such values are common (a list aggregate) and the
 * sliced path costs more per item; a value of this size takes a few milliseconds whole.
 */
export const hugeNestedChars = 256 * 1024

/**
 * The signed 64-bit integer at item `index` of a `uint32sOf(…, 2)` view, as a number when it is
 * within ±(2^53−1), else `undefined` so the caller takes the exact BigInt path.
 */
export const safeInt64At = (words: Uint32Array, index: number): number | undefined => {
  const hi = words[2 * index + 1]! | 0
  if (hi >= -2097152 && hi < 2097152) {
    const value = hi * twoTo32 + words[2 * index]!
    if (value !== -9007199254740992) return value
  }
  return undefined
}

export const safeUint64At = (words: Uint32Array, index: number): number | undefined => {
  const hi = words[2 * index + 1]!
  return hi < 2097152 ? hi * twoTo32 + words[2 * index]! : undefined
}

export const int64At = (words: Uint32Array, index: number): bigint =>
  (BigInt(words[2 * index + 1]! | 0) << 32n) | BigInt(words[2 * index]!)

export const uint64At = (words: Uint32Array, index: number): bigint =>
  (BigInt(words[2 * index + 1]!) << 32n) | BigInt(words[2 * index]!)

/** 128-bit items (HUGEINT, DECIMAL(19..38), UUID): four words, least significant first. */
export const int128At = (words: Uint32Array, index: number): bigint => {
  const o = 4 * index
  return (
    (BigInt(words[o + 3]! | 0) << 96n) |
    (BigInt(words[o + 2]!) << 64n) |
    (BigInt(words[o + 1]!) << 32n) |
    BigInt(words[o]!)
  )
}

export const uint128At = (words: Uint32Array, index: number): bigint => {
  const o = 4 * index
  return (
    (BigInt(words[o + 3]!) << 96n) |
    (BigInt(words[o + 2]!) << 64n) |
    (BigInt(words[o + 1]!) << 32n) |
    BigInt(words[o]!)
  )
}

/** A 128-bit signed item as a number when it is within ±(2^53−1). */
export const safeInt128At = (words: Uint32Array, index: number): number | undefined => {
  const o = 4 * index
  const top = words[o + 3]! | 0
  const third = words[o + 2]! | 0
  if ((top === 0 && third === 0) || (top === -1 && third === -1)) {
    const hi = words[o + 1]! | 0
    if ((top === 0) === hi >= 0 && hi >= -2097152 && hi < 2097152) {
      const value = hi * twoTo32 + words[o]!
      if (value !== -9007199254740992) return value
    }
  }
  return undefined
}

export const safeUint128At = (words: Uint32Array, index: number): number | undefined => {
  const o = 4 * index
  return words[o + 3] === 0 && words[o + 2] === 0 && words[o + 1]! < 2097152
    ? words[o + 1]! * twoTo32 + words[o]!
    : undefined
}

/**
 * VARCHAR, BLOB, BIT and BIGNUM items are 16-byte `string_t`s: a 4-byte length, then either the bytes
 * themselves (up to 12) or a 4-byte prefix and a pointer to them.
 *
 * JS can only follow such a pointer through a native call that wraps the memory in a new
 * ArrayBuffer, about 0.5 µs each — more than everything else an encoder does per value. DuckDB
 * usually writes a chunk's strings back to back, so the pointers are grouped into runs of strings that
 * are exactly adjacent, and each run is wrapped once. Only adjacency proves that the memory between
 * two strings is string data (a gap could be unmapped), so a run never spans a gap; NULL items are
 * skipped because their bytes are undefined.
 */
export class StringItems {
  readonly bytes: Uint8Array
  readonly validity: Validity
  private readonly words: Uint32Array
  private readonly inline: Buffer
  private runs: Array<Buffer> | undefined
  private runOf: Int32Array | undefined
  private offsetInRun: Float64Array | undefined

  constructor(vector: NativeVector, size: number) {
    this.bytes = bytesOf(vector, size, 16)
    this.validity = validityOf(vector, size)
    this.words = new Uint32Array(this.bytes.buffer, this.bytes.byteOffset, size * 4)
    this.inline = Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength)
  }

  lengthAt(index: number): number {
    return this.words[4 * index]!
  }

  /** Longer than `hugeValueBytes`: to be encoded in slices (its validity is not checked here). */
  isHugeAt(index: number): boolean {
    return this.words[4 * index]! > hugeValueBytes
  }

  /** The item's bytes; a view into DuckDB's memory, valid while the chunk is. */
  bytesAt(index: number): Uint8Array {
    const length = this.words[4 * index]!
    if (length <= 12) return this.bytes.subarray(16 * index + 4, 16 * index + 4 + length)
    const run = this.runAt(index)
    const start = this.offsetInRun![index]!
    return run.subarray(start, start + length)
  }

  /** Where `locate` found the last item's bytes in the buffer it returned. */
  located = 0

  /**
   * The buffer holding item `index`'s bytes, from `located` on for `lengthAt(index)` bytes: like
   * `bytesAt` without a view per value, for writers that copy the bytes at once.
   */
  locate(index: number): Uint8Array {
    if (this.words[4 * index]! <= 12) {
      this.located = 16 * index + 4
      return this.bytes
    }
    const run = this.runAt(index)
    this.located = this.offsetInRun![index]!
    return run
  }

  stringAt(index: number): string {
    const length = this.words[4 * index]!
    if (length <= 12)
      return length === 0 ? "" : this.inline.toString("utf8", 16 * index + 4, 16 * index + 4 + length)
    const run = this.runAt(index)
    const start = this.offsetInRun![index]!
    return run.toString("utf8", start, start + length)
  }

  /**
   * Reads item `index` (valid and longer than 12 bytes) a range at a time, each range copied on its
   * own: DuckDB's bytes are only reachable through a copy, and a huge value copied whole takes tens
   * of milliseconds.
   */
  rangeReader(index: number): (start: number, end: number) => Uint8Array {
    const high = this.words[4 * index + 3]!
    if (high >= 2097152) {
      const whole = this.bytesAt(index)
      return (start, end) => whole.subarray(start, end)
    }
    const pointer = high * twoTo32 + this.words[4 * index + 2]!
    // A string_t of our own whose pointer walks along the value.
    const cell = new Uint32Array(2)
    return (start, end) => {
      const at = pointer + start
      cell[0] = at % twoTo32
      cell[1] = Math.floor(at / twoTo32)
      return duckdb.get_data_from_pointer(cell.buffer, 0, end - start)
    }
  }

  private runAt(index: number): Buffer {
    if (this.runs === undefined) this.findRuns()
    const run = this.runOf![index]!
    if (run >= 0) return this.runs![run]!
    // A NULL item's pointer is undefined: never follow it, even if a caller forgot to check.
    if (!isValid(this.validity, index)) {
      this.offsetInRun![index] = 0
      return emptyBuffer
    }
    // A pointer beyond 2^53 (no platform DuckDB runs on has one) is read on its own.
    const bytes = duckdb.get_data_from_pointer(
      this.bytes.buffer as ArrayBuffer,
      this.bytes.byteOffset + 16 * index + 8,
      this.words[4 * index]!
    )
    this.offsetInRun![index] = 0
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  private findRuns(): void {
    const words = this.words
    const size = words.length / 4
    const runOf = new Int32Array(size).fill(-1)
    const offsetInRun = new Float64Array(size)
    const runs: Array<Buffer> = []
    let first = -1
    let runStart = 0
    let runEnd = 0
    const close = () => {
      if (first < 0) return
      const view = duckdb.get_data_from_pointer(
        this.bytes.buffer as ArrayBuffer,
        this.bytes.byteOffset + 16 * first + 8,
        runEnd - runStart
      )
      runs.push(Buffer.from(view.buffer, view.byteOffset, view.byteLength))
    }
    for (let i = 0; i < size; i++) {
      const length = words[4 * i]!
      if (length <= 12 || length > hugeValueBytes || !isValid(this.validity, i)) continue
      const high = words[4 * i + 3]!
      if (high >= 2097152) continue
      const pointer = high * twoTo32 + words[4 * i + 2]!
      if (first >= 0 && pointer >= runStart && pointer + length <= runEnd) {
        // Inside bytes already proven to be string data (a repeated value).
      } else if (first >= 0 && pointer === runEnd) {
        runEnd += length
      } else {
        close()
        first = i
        runStart = pointer
        runEnd = pointer + length
      }
      runOf[i] = runs.length
      offsetInRun[i] = pointer - runStart
    }
    close()
    this.runs = runs
    this.runOf = runOf
    this.offsetInRun = offsetInRun
  }
}

/** LIST and MAP items: a 64-bit offset and a 64-bit length into the child vector. */
export class ListEntries {
  private readonly words: Uint32Array
  readonly child: NativeVector
  readonly childSize: number

  constructor(vector: NativeVector, size: number) {
    this.words = uint32sOf(vector, size, 4)
    this.child = duckdb.list_vector_get_child(vector)
    this.childSize = duckdb.list_vector_get_size(vector)
  }

  offsetAt(index: number): number {
    return this.words[4 * index]! + this.words[4 * index + 1]! * twoTo32
  }

  lengthAt(index: number): number {
    return this.words[4 * index + 2]! + this.words[4 * index + 3]! * twoTo32
  }
}

export const structChild = (vector: NativeVector, index: number): NativeVector =>
  duckdb.struct_vector_get_child(vector, index)

export const arrayChild = (vector: NativeVector): NativeVector => duckdb.array_vector_get_child(vector)

export const chunkColumn = (chunk: duckdb.DataChunk, column: number): NativeVector =>
  duckdb.data_chunk_get_vector(chunk, column)
