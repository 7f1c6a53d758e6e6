import type { Output } from "./ByteOutput.js"
import { doubleText } from "./ScalarText.js"

/**
 * A double's text written as bytes, the same as JavaScript's `${value}` (the shortest decimal that
 * reads back as the same double, the nearer one when two are as short). V8's own conversion costs
 * about 100 ns a value, plus a string to copy and collect: in a large CSV of doubles that was half of
 * the encoder's time. Here the common range, 0.5 ≤ |value| < 2^53, is written in place: the integer
 * part as an integer, then the fraction's digits by the free-format algorithm of Steele & White (the
 * one V8's exact fallback, bignum-dtoa, runs), on exact integers held in two 27-bit limbs. Every
 * other value (integers, ±0, tiny, huge, non-finite) is written as `doubleText` writes it.
 *
 * The fraction of a double in [2^E, 2^(E+1)) is a multiple of its ulp 2^(E−52). Scaled by 2^54 it is
 * an integer R < 2^54, a multiple of 2^(E+2) (so exact as a double for E ≥ −1), and the half-ulp is
 * M = 2^(E+1). Each step multiplies both by 10 and takes R's overflow past 2^54 as the next digit.
 * The digits so far read back as the value once R < M, and so do they plus one unit in the last
 * place once R > 2^54 − M; the first step at which either holds gives the shortest text, and when
 * both hold the one nearer the value (2R against 2^54), a tie to the even digit, as V8 rounds. The
 * bounds themselves never matter here: a decimal on one (a midpoint between two doubles) has more
 * digits than the 17 that always suffice. A last digit of 9 is never rounded up: that bound would
 * have held a step earlier.
 */
const twoTo27 = 134_217_728
const low27 = twoTo27 - 1
const twoTo53 = 9_007_199_254_740_992
const twoTo54 = 18_014_398_509_481_984

/** The bits of one double, for its exponent (little-endian, as on every platform DuckDB ships for). */
const bits = new Float64Array(1)
const words = new Uint32Array(bits.buffer)

/** 2^(E+1) for E = −1..52 (at index E + 1), the half-ulp of a double in [2^E, 2^(E+1)) scaled by 2^54. */
const halfUlps = Float64Array.from({ length: 54 }, (_, i) => 2 ** i)

export const writeDouble = (out: Output, value: number): void => {
  const magnitude = value < 0 ? -value : value
  const whole = Math.floor(magnitude)
  // NaN fails both comparisons; integers (and ±0) are their digits, which `integer` writes.
  if (!(magnitude >= 0.5 && magnitude < twoTo53) || whole === magnitude) {
    if (whole === magnitude && magnitude < twoTo53 && !(value === 0 && 1 / value < 0)) out.integer(value)
    else out.ascii(doubleText(value))
    return
  }
  bits[0] = magnitude
  const exponent = (words[1]! >>> 20) - 1023
  if (value < 0) out.byte(0x2d)
  out.unsigned(whole)
  // Exact: the fraction of a double at least 0.5 is a double, and scaling by a power of two is exact.
  const scaled = (magnitude - whole) * twoTo54
  const top = Math.floor(scaled / twoTo27)
  // Both limbs stay below 2^31 times ten: int32 arithmetic throughout.
  let high = top | 0
  let low = (scaled - top * twoTo27) | 0
  let half = halfUlps[exponent + 1]!
  // At most 17 significant digits, so at most 17 after the point, and the point itself.
  const buffer = out.ensure(18)
  let at = out.length
  buffer[at++] = 0x2e
  while (true) {
    low *= 10
    high = (high * 10 + (low >>> 27)) | 0
    low &= low27
    let digit = high >>> 27
    high &= low27
    half *= 10
    // While M < 2^27, R < M needs a high limb of 0 and R > 2^54 − M one of 2^27 − 1: most digits
    // are decided by that alone.
    if (half < twoTo27 && high !== 0 && high !== low27) {
      buffer[at++] = 48 + digit
      continue
    }
    // Exact: a multiple of 2 below 2^54.
    const rest = high * twoTo27 + low
    const roundsDown = rest < half
    const roundsUp = rest > twoTo54 - half
    if (roundsDown || roundsUp) {
      if (roundsUp && (!roundsDown || rest * 2 > twoTo54 || (rest * 2 === twoTo54 && (digit & 1) === 1)))
        digit++
      buffer[at++] = 48 + digit
      break
    }
    buffer[at++] = 48 + digit
  }
  out.length = at
}
