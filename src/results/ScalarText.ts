/** Exact text for DuckDB scalars that have no ready-made JS formatting. */

/** DECIMAL digits: the unscaled integer with the point `scale` digits from the right ("1.500"). */
export const decimalText = (unscaled: number | bigint, scale: number): string => {
  const negative = unscaled < 0
  let digits = `${negative ? -unscaled : unscaled}`
  if (scale === 0) return negative ? `-${digits}` : digits
  if (digits.length <= scale) digits = digits.padStart(scale + 1, "0")
  const point = digits.length - scale
  return `${negative ? "-" : ""}${digits.slice(0, point)}.${digits.slice(point)}`
}

const minNormalFloat32 = 2 ** -126

/**
 * The shortest decimal that reads back as the same FLOAT. A FLOAT widened to a double prints as
 * `0.10000000149011612`; DuckDB prints `0.1`. For normal floats, a shortest form of ≤ 6 significant
 * digits is also what rounding to 6 digits gives (a float is never more than 2^-24 of itself from
 * such a decimal, far less than half a 6-digit step), so the search starts there; subnormal floats
 * have less precision and start from 1 digit. 9 digits always suffice.
 */
export const float32Text = (value: number): string => {
  const start = Math.abs(value) < minNormalFloat32 ? 1 : 6
  for (let precision = start; precision < 9; precision++) {
    const candidate = +value.toPrecision(precision)
    if (Math.fround(candidate) === value) return `${candidate}`
  }
  return `${+value.toPrecision(9)}`
}

/** Text of a finite or non-finite double, keeping the sign of zero. */
export const doubleText = (value: number): string =>
  value === 0 && 1 / value < 0 ? "-0" : Number.isNaN(value) ? "NaN" : `${value}`

export const hexByte: ReadonlyArray<string> = Array.from({ length: 256 }, (_, i) =>
  i.toString(16).padStart(2, "0")
)

/**
 * DuckDB stores a UUID as a HUGEINT with the top bit flipped (so that numeric order is text order),
 * little-endian: the canonical text reads the 16 bytes from the last to the first.
 */
export const uuidText = (bytes: Uint8Array, offset: number): string => {
  const b = (i: number) => hexByte[bytes[offset + 15 - i]! ^ (i === 0 ? 0x80 : 0)]!
  return `${b(0)}${b(1)}${b(2)}${b(3)}-${b(4)}${b(5)}-${b(6)}${b(7)}-${b(8)}${b(9)}-${b(10)}${b(11)}${b(12)}${b(13)}${b(14)}${b(15)}`
}

/** The 16 big-endian bytes of a UUID (Arrow's `arrow.uuid` storage). */
export const uuidBytesInto = (
  source: Uint8Array,
  sourceOffset: number,
  target: Uint8Array,
  targetOffset: number
) => {
  for (let i = 0; i < 16; i++) target[targetOffset + i] = source[sourceOffset + 15 - i]!
  target[targetOffset] = target[targetOffset]! ^ 0x80
}

const bitsOfByte: ReadonlyArray<string> = Array.from({ length: 256 }, (_, i) =>
  i.toString(2).padStart(8, "0")
)

/** BIT: the first byte counts the padding bits that precede the value in the next byte. */
export const bitText = (bytes: Uint8Array): string => {
  if (bytes.length < 2) return ""
  let text = bitsOfByte[bytes[1]!]!.slice(bytes[0]!)
  for (let i = 2; i < bytes.length; i++) text += bitsOfByte[bytes[i]!]!
  return text
}

/**
 * Past this many bytes of magnitude (about 39,000 decimal digits, a few milliseconds) a BIGNUM is
 * written in hexadecimal (`bignumText`): its decimal digits cost time that grows with the square of
 * its length, all on the event loop (V8's BigInt toString: 47 ms at 100,000 digits, 0.24 s at
 * 300,000, 19 s at a million), while its hexadecimal digits are its bytes, in linear time.
 */
export const bignumDecimalBytes = 16 * 1024

/** Whether `bignumText` writes this BIGNUM in hexadecimal. */
export const isHexBignum = (bytes: Uint8Array): boolean => bytes.length - 3 > bignumDecimalBytes

/**
 * A BIGNUM's text: its decimal digits, or, past `bignumDecimalBytes`, `0x` and its hexadecimal
 * digits (`-0x…` when negative, no leading zeros): exact either way.
 */
export const bignumText = (bytes: Uint8Array): string => {
  if (!isHexBignum(bytes)) return `${bignumValue(bytes)}`
  const positive = (bytes[0]! & 0x80) !== 0
  const mask = positive ? 0 : 0xff
  let start = 3
  while (start < bytes.length - 1 && (bytes[start]! ^ mask) === 0) start++
  const magnitude = Buffer.allocUnsafe(bytes.length - start)
  for (let i = start; i < bytes.length; i++) magnitude[i - start] = bytes[i]! ^ mask
  const hex = magnitude.toString("hex")
  return `${positive ? "" : "-"}0x${hex.startsWith("0") ? hex.slice(1) : hex}`
}

/**
 * BIGNUM (arbitrary-precision integer): a 3-byte header whose top bit is set for positive values and
 * that holds the byte count, then the magnitude big-endian; negative values have every byte inverted.
 */
export const bignumValue = (bytes: Uint8Array): bigint => {
  const positive = (bytes[0]! & 0x80) !== 0
  const mask = positive ? 0 : 0xff
  let value = 0n
  let hex = ""
  for (let i = 3; i < bytes.length; i++) hex += hexByte[bytes[i]! ^ mask]!
  if (hex.length > 0) value = BigInt(`0x${hex}`)
  return positive ? value : -value
}

const maxSafe = BigInt(Number.MAX_SAFE_INTEGER)

/** JSON for an integer: a number within ±(2^53−1), else a string of its digits. */
export const bigIntegerJson = (value: bigint): string =>
  value <= maxSafe && value >= -maxSafe ? `${value}` : `"${value}"`

/** BLOB as text: base64 of its bytes. */
export const base64Text = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")
