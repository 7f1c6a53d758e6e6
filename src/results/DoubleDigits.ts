import type { Output } from "./ByteOutput.js"
import { doubleText } from "./ScalarText.js"

/**
 * A double's text written as bytes, the same as JavaScript's `${value}` (the shortest decimal that
 * reads back as the same double, the nearer one when two are as short). V8's own conversion costs
 * about 100 ns a value, plus a string to copy and collect: in a large CSV of doubles that was half of
 * the encoder's time. Here the common range, 1e-6 ≤ |value| < 2^53 (where JavaScript writes no
 * exponent), is written in place: the integer part as an integer, then the fraction's digits by the
 * free-format algorithm of Steele & White (the one V8's exact fallback, bignum-dtoa, runs), on exact
 * integers held in 27-bit limbs. Every other value (integers, ±0, tiny, huge, non-finite) is written
 * as `doubleText` writes it.
 *
 * The fraction of a double in [2^E, 2^(E+1)), E ≥ −1, is a multiple of its ulp 2^(E−52). Scaled by
 * 2^54 it is an integer R < 2^54, a multiple of 2^(E+2) (so exact as a double), and the half-ulp is
 * M = 2^(E+1). Each step multiplies both by 10 and takes R's overflow past 2^54 as the next digit.
 * The digits so far read back as the value once R < M, and so do they plus one unit in the last
 * place once R > 2^54 − M; the first step at which either holds gives the shortest text, and when
 * both hold the one nearer the value (2R against 2^54), a tie to the even digit, as V8 rounds. The
 * bounds themselves never matter here: a decimal on one (a midpoint between two doubles) has more
 * digits than the 17 that always suffice; nor does the nearer lower neighbour of a power of two,
 * which in this range is exact in fewer digits than it takes to come that near. A last digit of 9 is
 * never rounded up: that bound would have held a step earlier.
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

/** Below this JavaScript writes an exponent (`1e-7`). */
const smallest = 1e-6
const twoTo26 = 67_108_864

/**
 * The digits after `0.` of a double in [1e-6, 0.5) (E from −20 to −2), as above on three 27-bit
 * limbs: the fraction scaled by 2^81 is an integer R < 2^81 and the half-ulp is M = 2^(E+28), too
 * wide for one double, so both are kept in limbs and compared limb by limb. Leading zeros come out
 * as digits like any other (neither bound holds for them: the value is far above its half-ulp).
 */
const smallFraction = (out: Output, magnitude: number, exponent: number): void => {
  // Exact: a multiple of 2^(E+29) below 2^81 holds at most 53 significant bits, and so do the rests.
  const scaled = magnitude * 2 ** 81
  const top = Math.floor(scaled / twoTo54)
  const rest = scaled - top * twoTo54
  const middle = Math.floor(rest / twoTo27)
  let r2 = top | 0
  let r1 = middle | 0
  let r0 = (rest - middle * twoTo27) | 0
  // M = 2^(E+28), E + 28 from 8 to 26: in the lowest limb.
  let m2 = 0
  let m1 = 0
  let m0 = 1 << (exponent + 28)
  // Up to 6 zeros after the point, then at most 17 significant digits.
  const buffer = out.ensure(24)
  let at = out.length
  buffer[at++] = 0x2e
  while (true) {
    r0 *= 10
    r1 = r1 * 10 + (r0 >>> 27)
    r0 &= low27
    r2 = r2 * 10 + (r1 >>> 27)
    r1 &= low27
    let digit = r2 >>> 27
    r2 &= low27
    m0 *= 10
    m1 = m1 * 10 + (m0 >>> 27)
    m0 &= low27
    m2 = m2 * 10 + (m1 >>> 27)
    m1 &= low27
    // M past 2^81: both bounds hold.
    const wide = m2 >= twoTo27
    // While M < 2^54, R < M needs a top limb of 0 and R > 2^81 − M one of 2^27 − 1.
    if (m2 === 0 && r2 !== 0 && r2 !== low27) {
      buffer[at++] = 48 + digit
      continue
    }
    const roundsDown = wide || r2 < m2 || (r2 === m2 && (r1 < m1 || (r1 === m1 && r0 < m0)))
    let roundsUp = wide
    if (!wide) {
      // R + M > 2^81, limb by limb.
      const s0 = r0 + m0
      const s1 = r1 + m1 + (s0 >>> 27)
      const s2 = r2 + m2 + (s1 >>> 27)
      roundsUp = s2 > twoTo27 || (s2 === twoTo27 && ((s1 & low27) !== 0 || (s0 & low27) !== 0))
    }
    if (roundsDown || roundsUp) {
      if (roundsUp) {
        // 2R against 2^81: R against 2^80, whose top limb is 2^26.
        const above = r2 > twoTo26 || (r2 === twoTo26 && (r1 !== 0 || r0 !== 0))
        const tie = r2 === twoTo26 && r1 === 0 && r0 === 0
        if (!roundsDown || above || (tie && (digit & 1) === 1)) digit++
      }
      buffer[at++] = 48 + digit
      break
    }
    buffer[at++] = 48 + digit
  }
  out.length = at
}

export const writeDouble = (out: Output, value: number): void => {
  const magnitude = value < 0 ? -value : value
  const whole = Math.floor(magnitude)
  // NaN fails every comparison; integers (and ±0) are their digits, which `integer` writes.
  if (!(magnitude >= smallest && magnitude < twoTo53) || whole === magnitude) {
    if (whole === magnitude && magnitude < twoTo53 && !(value === 0 && 1 / value < 0)) out.integer(value)
    else out.ascii(doubleText(value))
    return
  }
  bits[0] = magnitude
  const exponent = (words[1]! >>> 20) - 1023
  if (value < 0) out.byte(0x2d)
  out.unsigned(whole)
  if (exponent < -1) {
    smallFraction(out, magnitude, exponent)
    return
  }
  // Exact: the fraction of a double at least 0.5 is a double, and scaling by a power of two is exact.
  const scaled = (magnitude - whole) * twoTo54
  const top = Math.floor(scaled / twoTo27)
  // Both limbs stay below 2^27, and ten times that below 2^31: int32 arithmetic throughout.
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
