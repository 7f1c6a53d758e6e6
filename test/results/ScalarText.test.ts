import { describe, expect, it } from "vitest"
import { isoDuration } from "../../src/params/IsoDuration.js"
import { decimalText, doubleText, float32Text } from "../../src/results/ScalarText.js"
import {
  dateFromDays,
  intervalText,
  microseconds,
  nanoseconds,
  timestampText,
  timestampTextBig
} from "../../src/results/Temporal.js"
import { seededRandom } from "../support/SeededRandom.js"

const random = seededRandom(0x12345678)

describe("float32Text", () => {
  const shortest = (value: number) => {
    for (let precision = 1; precision <= 9; precision++) {
      const candidate = +value.toPrecision(precision)
      if (Math.fround(candidate) === value) return `${candidate}`
    }
    throw new Error("unreachable")
  }
  it("is the shortest text that reads back as the same float, for normal and subnormal floats", () => {
    const bits = new Uint32Array(1)
    const float = new Float32Array(bits.buffer)
    for (let i = 0; i < 200_000; i++) {
      bits[0] = Math.floor(random() * 4294967296)
      const value = float[0]!
      if (!Number.isFinite(value) || value === 0) continue
      expect(float32Text(value)).toBe(shortest(value))
    }
    for (const value of [1e-45, 1.4e-44, 1.17549435e-38, 3.4028235e38, 0.1, 16777217, 1 / 3]) {
      const f = Math.fround(value)
      expect(float32Text(f)).toBe(shortest(f))
    }
  })
  it("doubles keep -0", () => {
    expect(doubleText(-0)).toBe("-0")
    expect(doubleText(0)).toBe("0")
    expect(doubleText(1e21)).toBe("1e+21")
  })
})

describe("decimalText", () => {
  it.each([
    [1500, 3, "1.500"],
    [-1, 3, "-0.001"],
    [0, 2, "0.00"],
    [5, 0, "5"],
    [-123456789012345678901234567890n, 10, "-12345678901234567890.1234567890"]
  ])("%s at scale %s → %s", (unscaled, scale, text) => {
    expect(decimalText(unscaled, scale)).toBe(text)
  })
})

describe("dates and timestamps", () => {
  it("agree with JS Date wherever JS Date reaches", () => {
    for (let i = 0; i < 100_000; i++) {
      const days = Math.floor((random() - 0.5) * 2 * 100_000_000)
      const iso = new Date(days * 86_400_000).toISOString()
      const expected = iso.slice(0, iso.indexOf("T")).replace(/^([+-])0*(\d{6,})/, "$1$2")
      const text = dateFromDays(days)
      // JS always pads expanded years to six digits; so do we, and 4 digits for years 0000–9999.
      expect(text).toBe(expected.replace(/^\+00(\d{4})-/, "$1-"))
    }
  })
  it("timestamps: the fast path and the exact BigInt path agree", () => {
    for (let i = 0; i < 50_000; i++) {
      const micros = Math.floor((random() - 0.5) * 2 ** 53)
      expect(timestampText(micros, microseconds, "Z")).toBe(
        timestampTextBig(BigInt(micros), microseconds, "Z")
      )
      const nanos = Math.floor((random() - 0.5) * 2 ** 53)
      expect(timestampText(nanos, nanoseconds, "")).toBe(timestampTextBig(BigInt(nanos), nanoseconds, ""))
    }
  })
  it("timestamps agree with JS Date to the millisecond", () => {
    for (let i = 0; i < 50_000; i++) {
      const millis = Math.floor((random() - 0.5) * 2 * 9e12)
      const micros = millis * 1000
      const iso = new Date(millis)
        .toISOString()
        .replace(/\.000Z$/, "Z")
        .replace(/(\.\d*?)0+Z$/, "$1Z")
      expect(timestampText(micros, microseconds, "Z")).toBe(
        iso.replace(/^([+-])0*(\d{6,})/, "$1$2").replace(/^\+00(\d{4})-/, "$1-")
      )
    }
  })
})

describe("intervals", () => {
  it("read back what they write", () => {
    for (let i = 0; i < 20_000; i++) {
      const months = Math.floor((random() - 0.5) * 2000)
      const days = Math.floor((random() - 0.5) * 2000)
      const micros = BigInt(Math.floor((random() - 0.5) * 2 ** 50)) * (random() < 0.5 ? 1n : 1000n)
      const text = intervalText(months, days, micros)
      expect(isoDuration(text)).toEqual({ months, days, micros })
    }
  })
  it.each([
    ["P", "invalid"],
    ["PT", "invalid"],
    ["P1DT", "invalid"],
    ["P1.5D", "invalid"],
    ["1 day", undefined],
    ["-PT1.5S", { months: 0, days: 0, micros: -1500000n }],
    ["P2W", { months: 0, days: 14, micros: 0n }]
  ])("%s", (text, expected) => {
    expect(isoDuration(text)).toEqual(expected)
  })
})
