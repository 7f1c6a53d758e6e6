/**
 * The bytes of one chunk's worth of a text result (CSV, NDJSON), written in place: digits, copied
 * string bytes and ASCII texts, without a JavaScript string per value. Its buffers live outside V8's
 * heap, so a large result does not keep the garbage collector busy. `take` hands the bytes over and
 * starts afresh: the socket may still be sending them while the next chunk is written.
 */
const empty = Buffer.alloc(0)

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
    this.ensure(source.length).set(source, this.length)
    this.length += source.length
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
    let rest = value
    for (let at = this.length + digits - 1; at >= this.length; at--) {
      buffer[at] = 48 + (rest % 10)
      rest = (rest / 10) | 0
    }
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
