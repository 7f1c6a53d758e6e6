import { describe, expect, it } from "vitest"
import { Output } from "../../src/results/ByteOutput.js"
import { writeDouble } from "../../src/results/DoubleDigits.js"
import { seededRandom } from "../support/SeededRandom.js"

/**
 * `writeDouble` writes JavaScript's own text of every double (`-0` for negative zero): compared
 * with `${value}` over random bit patterns across and beyond its fast range (1e-6 ≤ |v| < 2^53),
 * the quotients a division gives, the neighbours of short decimals (where the shortest text is
 * decided by the last bit) and the edges of every binade.
 */
const expected = (value: number) => (Object.is(value, -0) ? "-0" : `${value}`)

const random = seededRandom(0x2545f491)

const bits = new Float64Array(1)
const words = new Uint32Array(bits.buffer)
const withBits = (high: number, low: number) => {
  words[1] = high
  words[0] = low
  return bits[0]!
}
/** The double `steps` ulps away from `value` (same sign, no binade crossing needed here). */
const nextTo = (value: number, steps: number) => {
  bits[0] = value
  const low = words[0]! + steps
  words[1] = words[1]! + Math.floor(low / 4294967296)
  words[0] = low >>> 0
  return bits[0]!
}

/** The text of each value, and where it differs from `${value}`. */
const mismatches = (values: Iterable<number>) => {
  const out = new Output()
  const wrong: Array<[string, string]> = []
  for (const value of values) {
    writeDouble(out, value)
    const text = Buffer.from(out.take()).toString("latin1")
    if (text !== expected(value)) wrong.push([expected(value), text])
  }
  return wrong
}

describe("writeDouble", () => {
  it("writes JavaScript's text for random bit patterns of both signs, exponents from 2^-22 to 2^60", () => {
    const values: Array<number> = []
    for (let i = 0; i < 200_000; i++) {
      const exponent = 1001 + Math.floor(random() * 82)
      const sign = random() < 0.5 ? 0x80000000 : 0
      values.push(
        withBits(sign | (exponent << 20) | Math.floor(random() * 0x100000), Math.floor(random() * 4294967296))
      )
    }
    expect(mismatches(values)).toEqual([])
  })

  it("writes JavaScript's text for quotients, short decimals and their neighbours", () => {
    const values: Array<number> = []
    for (let i = 1; i < 30_000; i++) {
      values.push(
        i / 7,
        -i / 3,
        i * 1.1,
        i / 1000,
        i + 0.5,
        i / 64,
        1_000_000_007 / i,
        i / 7e6,
        1 / i,
        -0.1 * i
      )
      for (const decimal of [(i * 7919) / 100, i / 1e6, (i % 1000) / 1e4])
        for (let step = -2; step <= 2; step++) values.push(nextTo(decimal, step))
    }
    expect(mismatches(values)).toEqual([])
  })

  it("rounds a tie between the two shortest texts to the even digit, as V8 does", () => {
    // A double of few significant bits whose exact decimal is one digit longer than its shortest
    // text and ends in 5 lies exactly between the two candidates (244140.626708984375 → …38).
    const values: Array<number> = []
    for (let j = 1; j < 4_000; j += 2) values.push((1_000_000_000 + j) / 4096, (65_536 + j) / 2 ** 18)
    // Below 0.5: a few significant bits, 2^-19 to 2^-21 apart (0.16008377075195312, 0.0000010728836059570312).
    for (const [width, scale] of [
      [4, 23],
      [8, 21],
      [12, 20],
      [16, 18],
      [20, 21],
      [24, 22]
    ] as const)
      for (let j = 1; j < 2 ** (width - 1) && j < 4_000; j += 2)
        values.push((2 ** (width - 1) + j) / 2 ** scale)
    expect(mismatches(values)).toEqual([])
  })

  it("writes JavaScript's text at the edges of every binade and of its range", () => {
    const values: Array<number> = []
    for (let e = -22; e <= 54; e++) {
      const power = 2 ** e
      for (let step = 1; step <= 3; step++) values.push(nextTo(power, step), -nextTo(power, step))
      values.push(power, nextTo(2 * power, -1), nextTo(2 * power, -2), power * 1.5)
    }
    values.push(
      0,
      -0,
      0.5,
      -0.5,
      0.49999999999999994,
      1,
      1.0000000000000002,
      1.9999999999999998,
      4503599627370495.5,
      -4503599627370495.5,
      9007199254740991,
      9007199254740992,
      -9007199254740994,
      1e21,
      1e-7,
      1e-6,
      -1e-6,
      nextTo(1e-6, 1),
      nextTo(1e-6, -1),
      0.1,
      0.3,
      0.000123,
      1 / 3,
      5e-324,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      0.1 + 0.2,
      1 + 0.1 + 0.2,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY
    )
    expect(mismatches(values)).toEqual([])
  })

  it("appends to what the output already holds", () => {
    const out = new Output()
    out.ascii("x=")
    writeDouble(out, -142857.14285714287)
    out.ascii(";")
    writeDouble(out, 2.5)
    expect(Buffer.from(out.take()).toString("latin1")).toBe("x=-142857.14285714287;2.5")
  })
})
