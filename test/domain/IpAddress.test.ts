import { describe, expect, it } from "vitest"
import { validateTrustedProxies } from "../../src/domain/IpAddress.js"

describe("validateTrustedProxies", () => {
  it("accepts addresses and CIDRs of both families", () => {
    expect(
      validateTrustedProxies([
        "10.0.0.0/8",
        "192.168.1.7",
        "0.0.0.0/0",
        "2001:db8::/32",
        "::1",
        "::ffff:10.0.0.0/104",
        "::ffff:0:0/96",
        "::/0",
        "fd00::/8"
      ])
    ).toEqual([])
  })

  it("names each entry that is not a CIDR by its index", () => {
    expect(
      validateTrustedProxies([
        "10.0.0.0/8",
        "10.0.0.0/33",
        "2001:db8::/129",
        "not-an-ip",
        "10.0.0/8",
        "10.0.0.0/",
        "10.0.0.0/8/8",
        "10.0.0.0/+8",
        "010.0.0.0/8",
        "fe80::1%eth0/64",
        "[::1]/128",
        "1.2.3.4:80",
        ""
      ])
    ).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((i) => `server.trusted_proxies[${i}]: not a CIDR`))
  })

  it("uses the path it is given", () => {
    expect(validateTrustedProxies(["x"], "trusted")).toEqual(["trusted[0]: not a CIDR"])
  })
})
