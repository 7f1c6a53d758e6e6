import { Headers } from "@effect/platform"
import { describe, expect, it } from "vitest"
import { makeClientIpResolver, rateLimitKeyOf } from "../../src/http/ClientIp.js"

const h = (input: Record<string, string> = {}) => Headers.fromInput(input)

describe("makeClientIpResolver without trusted proxies", () => {
  const resolve = makeClientIpResolver([])

  it("is the socket peer, whatever the headers claim", () => {
    expect(resolve("203.0.113.9", h({ "x-forwarded-for": "1.1.1.1", "x-real-ip": "2.2.2.2" }))).toBe(
      "203.0.113.9"
    )
  })

  it("normalises IPv4-mapped IPv6 peers and IPv6 spelling", () => {
    expect(resolve("::ffff:203.0.113.9", h())).toBe("203.0.113.9")
    expect(resolve("::FFFF:CB00:7109", h())).toBe("203.0.113.9")
    expect(resolve("2001:0DB8:0000:0000:0000:0000:0000:0001", h())).toBe("2001:db8::1")
    expect(resolve("fe80::1%eth0", h())).toBe("fe80::1")
  })

  it("answers unknown without a socket address", () => {
    expect(resolve(undefined, h({ "x-forwarded-for": "1.1.1.1" }))).toBe("unknown")
    expect(resolve("not an address", h())).toBe("unknown")
  })
})

describe("makeClientIpResolver behind trusted proxies", () => {
  const resolve = makeClientIpResolver(["10.0.0.0/8", "2001:db8:ffff::/48", "::ffff:172.16.0.0/108"])

  it("ignores forwarding headers from an untrusted peer (spoofing attempt)", () => {
    const spoofed = h({ "x-forwarded-for": "10.0.0.1, 198.51.100.1", "x-real-ip": "198.51.100.2" })
    expect(resolve("203.0.113.50", spoofed)).toBe("203.0.113.50")
    expect(resolve("::ffff:203.0.113.50", spoofed)).toBe("203.0.113.50")
    expect(resolve("2001:db8:1::1", spoofed)).toBe("2001:db8:1::1")
  })

  it("takes the right-most address that is not a trusted proxy", () => {
    // The client wrote the first two entries itself; the proxies appended the rest.
    const chain = h({ "x-forwarded-for": "6.6.6.6, 10.9.9.9, 198.51.100.7, 10.1.1.1, 10.2.2.2" })
    expect(resolve("10.3.3.3", chain)).toBe("198.51.100.7")
  })

  it("believes a trusted peer given as IPv4-mapped IPv6", () => {
    expect(resolve("::ffff:10.0.0.2", h({ "x-forwarded-for": "198.51.100.7" }))).toBe("198.51.100.7")
    expect(resolve("::ffff:172.16.5.5", h({ "x-forwarded-for": "198.51.100.8" }))).toBe("198.51.100.8")
    expect(resolve("172.16.5.5", h({ "x-forwarded-for": "198.51.100.9" }))).toBe("198.51.100.9")
  })

  it("handles IPv6 hops, ports and brackets", () => {
    expect(resolve("2001:db8:ffff::1", h({ "x-forwarded-for": "[2001:DB8:1::0001]:443" }))).toBe(
      "2001:db8:1::1"
    )
    expect(resolve("10.0.0.1", h({ "x-forwarded-for": "198.51.100.7:51234" }))).toBe("198.51.100.7")
    expect(resolve("10.0.0.1", h({ "x-forwarded-for": "2001:db8:1::5" }))).toBe("2001:db8:1::5")
    expect(resolve("10.0.0.1", h({ "x-forwarded-for": "::ffff:198.51.100.7" }))).toBe("198.51.100.7")
    expect(resolve("10.0.0.1", h({ "x-forwarded-for": "[fe80::1%eth0]:80" }))).toBe("fe80::1")
  })

  it("stops at a malformed hop and keeps the last address vouched for", () => {
    expect(resolve("10.0.0.1", h({ "x-forwarded-for": "6.6.6.6, garbage" }))).toBe("10.0.0.1")
    expect(resolve("10.0.0.1", h({ "x-forwarded-for": "6.6.6.6, unknown, 10.0.0.9" }))).toBe("10.0.0.9")
    expect(resolve("10.0.0.1", h({ "x-forwarded-for": "6.6.6.6, " }))).toBe("10.0.0.1")
    expect(resolve("10.0.0.1", h({ "x-forwarded-for": "" }))).toBe("10.0.0.1")
    expect(resolve("10.0.0.1", h({ "x-forwarded-for": "1.2.3.4\u0000" }))).toBe("10.0.0.1")
    expect(resolve("10.0.0.1", h({ "x-forwarded-for": "999.1.1.1" }))).toBe("10.0.0.1")
    expect(resolve("10.0.0.1", h({ "x-forwarded-for": "0x7f.0.0.1" }))).toBe("10.0.0.1")
    expect(resolve("10.0.0.1", h({ "x-forwarded-for": "a".repeat(10_000) }))).toBe("10.0.0.1")
  })

  it("answers the left-most hop when every hop is a trusted proxy", () => {
    expect(resolve("10.0.0.1", h({ "x-forwarded-for": "10.0.0.3, 10.0.0.2" }))).toBe("10.0.0.3")
  })

  it("falls back to X-Real-IP without X-Forwarded-For, and to the peer when it is malformed", () => {
    expect(resolve("10.0.0.1", h({ "x-real-ip": "198.51.100.7" }))).toBe("198.51.100.7")
    expect(resolve("10.0.0.1", h({ "x-real-ip": "nonsense" }))).toBe("10.0.0.1")
    expect(resolve("10.0.0.1", h())).toBe("10.0.0.1")
  })

  it("prefers X-Forwarded-For to X-Real-IP", () => {
    expect(resolve("10.0.0.1", h({ "x-forwarded-for": "198.51.100.7", "x-real-ip": "198.51.100.8" }))).toBe(
      "198.51.100.7"
    )
  })

  it("reads duplicate X-Forwarded-For headers as one list, as Node joins them", () => {
    const joined = Headers.fromInput({ "x-forwarded-for": ["6.6.6.6", "198.51.100.7"] })
    expect(resolve("10.0.0.1", joined)).toBe("198.51.100.7")
  })

  it("ignores entries that are not CIDRs instead of trusting too much", () => {
    const lenient = makeClientIpResolver(["nonsense", "10.0.0.0/99"])
    expect(lenient("10.0.0.1", h({ "x-forwarded-for": "198.51.100.7" }))).toBe("10.0.0.1")
  })
})

describe("rateLimitKeyOf", () => {
  it("keys IPv4 by address and IPv6 by its /64", () => {
    expect(rateLimitKeyOf("198.51.100.7")).toBe("198.51.100.7")
    expect(rateLimitKeyOf("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64")
    expect(rateLimitKeyOf("2001:db8:1:2::9")).toBe("2001:db8:1:2::/64")
    expect(rateLimitKeyOf("2001:db8::1")).toBe("2001:db8:0:0::/64")
    expect(rateLimitKeyOf("::1")).toBe("0:0:0:0::/64")
    expect(rateLimitKeyOf("unknown")).toBe("unknown")
  })
})
