/**
 * The bytes of one chunk's worth of a text result (CSV, NDJSON), written in place: digits, copied
 * string bytes and ASCII texts, without a JavaScript string per value. Its buffers live outside V8's
 * heap, so a large result does not keep the garbage collector busy. `take` hands the bytes over and
 * starts afresh: the socket may still be sending them while the next chunk is written.
 */
const empty = Buffer.alloc(0)

/** The two ASCII digits of 0..99, so that integers are written two digits per division. */
const digitPairs = new Uint8Array(200)
for (let i = 0; i < 100; i++) {
  digitPairs[2 * i] = 48 + Math.floor(i / 10)
  digitPairs[2 * i + 1] = 48 + (i % 10)
}

/** Up to this many bytes a copy loop beats `TypedArray.set`, whose native call costs more than the copy. */
const shortCopy = 16

export class Output {
  private buffer: Buffer = empty
  length = 0

  /** Sizes the next buffer for a chunk about to be written, before its first byte. */
  reserve(bytes: number): void {
    if (this.length === 0 && this.buffer.length < bytes) this.buffer = Buffer.allocUnsafe(bytes)
  }

  ensure(extra: number): Buffer {
    if (this.length + extra > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra, 256))
      this.buffer.copy(grown, 0, 0, this.length)
      this.buffer = grown
    }
    return this.buffer
  }

  byte(value: number): void {
    this.ensure(1)[this.length++] = value
  }

  bytes(source: Uint8Array): void {
    this.range(source, 0, source.length)
  }

  /** Bytes [start, end) of `source`, without a view of them (a `subarray` per value is an allocation). */
  range(source: Uint8Array, start: number, end: number): void {
    const count = end - start
    const buffer = this.ensure(count)
    const at = this.length - start
    if (count <= shortCopy) {
      for (let i = start; i < end; i++) buffer[at + i] = source[i]!
    } else {
      buffer.set(start === 0 && end === source.length ? source : source.subarray(start, end), this.length)
    }
    this.length += count
  }

  /** A string that is ASCII (digits, dates, numbers' text). */
  ascii(text: string): void {
    const buffer = this.ensure(text.length)
    for (let i = 0; i < text.length; i++) buffer[this.length + i] = text.charCodeAt(i)
    this.length += text.length
  }

  text(text: string): void {
    const buffer = this.ensure(Buffer.byteLength(text))
    this.length += buffer.write(text, this.length, "utf8")
  }

  /** A non-negative integer below 2^53, in decimal. */
  unsigned(value: number): void {
    if (value < 2_147_483_648) {
      this.small(value)
      return
    }
    // Above 2^31 the fast `| 0` division no longer holds: split off the last eight digits.
    const high = Math.floor(value / 100_000_000)
    this.unsigned(high)
    this.padded(value - high * 100_000_000, 8)
  }

  private small(value: number): void {
    const digits =
      value < 10
        ? 1
        : value < 100
          ? 2
          : value < 1_000
            ? 3
            : value < 10_000
              ? 4
              : value < 100_000
                ? 5
                : value < 1_000_000
                  ? 6
                  : value < 10_000_000
                    ? 7
                    : value < 100_000_000
                      ? 8
                      : value < 1_000_000_000
                        ? 9
                        : 10
    this.padded(value, digits)
  }

  /** `value` (below 2^31) in exactly `digits` digits, zeros first. */
  private padded(value: number, digits: number): void {
    const buffer = this.ensure(digits)
    // An int32 from here on: a value computed as a double (a 64-bit integer's two halves) would
    // otherwise make every `%` below a floating-point remainder, a call into C per digit.
    let rest = value | 0
    let at = this.length + digits
    while (at - this.length >= 2) {
      const pair = 2 * (rest % 100)
      rest = (rest / 100) | 0
      at -= 2
      buffer[at] = digitPairs[pair]!
      buffer[at + 1] = digitPairs[pair + 1]!
    }
    if (at > this.length) buffer[at - 1] = 48 + rest
    this.length += digits
  }

  integer(value: number): void {
    if (value < 0) {
      this.byte(0x2d)
      this.unsigned(-value)
    } else {
      this.unsigned(value)
    }
  }

  take(): Uint8Array {
    const out = this.buffer.subarray(0, this.length)
    this.buffer = empty
    this.length = 0
    return out
  }
}
