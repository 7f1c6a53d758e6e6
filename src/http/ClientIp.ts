import { BlockList, isIP } from "node:net"
import type { Headers } from "@effect/platform"

/**
 * The client address a request is attributed to (rate limits, audit log). The socket peer is the only
 * fact; forwarding headers are claims, believed only when the peer is a configured trusted proxy, and
 * then only as far as a chain of trusted proxies vouches for them.
 */

type Family = "ipv4" | "ipv6"
interface Address {
  readonly address: string
  readonly family: Family
}

/** What the resolver answers when the socket has no address (a Unix socket, a test transport). */
export const unknownClientIp = "unknown"

const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/
const mappedDotted = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i

/**
 * One spelling per address, so that `2001:DB8:0::1` and `2001:db8::1` share a bucket and a client
 * reaching a dual-stack socket as `::ffff:1.2.3.4` is the same client as `1.2.3.4`. Accepts exactly
 * an IPv4 dotted quad or an IPv6 address (zone id dropped); anything else is `undefined`.
 */
const canonical = (text: string): Address | undefined => {
  const family = isIP(text)
  if (family === 4) return { address: text, family: "ipv4" }
  if (family !== 6) return undefined
  // How a dual-stack listener reports every IPv4 peer: worth a shortcut past the URL parser.
  const dotted = mappedDotted.exec(text)
  if (dotted !== null && isIP(dotted[1]!) === 4) return { address: dotted[1]!, family: "ipv4" }
  const zone = text.indexOf("%")
  // The WHATWG URL parser writes IPv6 in RFC 5952 form (lower case, longest zero run compressed).
  const address = new URL(`http://[${zone === -1 ? text : text.slice(0, zone)}]`).hostname.slice(1, -1)
  const mapped = mappedHex.exec(address)
  if (mapped !== null) {
    const high = Number.parseInt(mapped[1]!, 16)
    const low = Number.parseInt(mapped[2]!, 16)
    return { address: `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, family: "ipv4" }
  }
  return { address, family: "ipv6" }
}

const ipv4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/
const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/

/** A forwarded hop as proxies write it: bare, `1.2.3.4:port`, `[v6]` or `[v6]:port`. */
const parseHop = (raw: string): Address | undefined => {
  const text = raw.trim()
  const inBrackets = bracketed.exec(text)
  if (inBrackets !== null) return canonical(inBrackets[1]!)
  const withPort = ipv4WithPort.exec(text)
  return canonical(withPort === null ? text : withPort[1]!)
}

interface Subnet {
  readonly network: string
  readonly prefix: number
  readonly family: Family
}

const prefixPattern = /^\d{1,3}$/

/** `address` or `address/prefix`; an IPv4-mapped IPv6 subnet of /96 or longer becomes its IPv4 subnet. */
const parseCidr = (text: string): Subnet | undefined => {
  const slash = text.indexOf("/")
  const written = slash === -1 ? text : text.slice(0, slash)
  const writtenFamily = isIP(written)
  if (writtenFamily === 0 || written.includes("%")) return undefined
  const max = writtenFamily === 4 ? 32 : 128
  const prefixText = slash === -1 ? String(max) : text.slice(slash + 1)
  if (!prefixPattern.test(prefixText) || Number(prefixText) > max) return undefined
  const prefix = Number(prefixText)
  const address = canonical(written)!
  if (writtenFamily === 6 && address.family === "ipv4") {
    // `::ffff:10.0.0.0/104` is `10.0.0.0/8`; a shorter prefix reaches beyond the mapped range.
    return prefix < 96
      ? { network: written, prefix, family: "ipv6" }
      : { network: address.address, prefix: prefix - 96, family: "ipv4" }
  }
  return { network: address.address, prefix, family: address.family }
}

/**
 * For start-up validation: one problem per entry that is not an address or CIDR, e.g.
 * `server.trusted_proxies[1]: not a CIDR`.
 */
export const validateTrustedProxies = (
  entries: ReadonlyArray<string>,
  path = "server.trusted_proxies"
): ReadonlyArray<string> =>
  entries.flatMap((entry, index) => (parseCidr(entry) === undefined ? [`${path}[${index}]: not a CIDR`] : []))

export type ClientIpResolver = (socketAddress: string | undefined, headers: Headers.Headers) => string

/**
 * Resolves the client address of a request. With a trusted peer, `X-Forwarded-For` is walked from the
 * right: trusted proxies are skipped and the first address that is not one is the client. A malformed
 * hop ends the walk at the last address vouched for, because anything to its left may be forged.
 * Without `X-Forwarded-For`, a trusted peer's `X-Real-IP` is used when it is a valid address.
 * Entries of `trustedProxies` that are not CIDRs are ignored (validate them at start).
 */
export const makeClientIpResolver = (trustedProxies: ReadonlyArray<string>): ClientIpResolver => {
  const trusted = new BlockList()
  let anyTrusted = false
  for (const entry of trustedProxies) {
    const subnet = parseCidr(entry)
    if (subnet === undefined) continue
    trusted.addSubnet(subnet.network, subnet.prefix, subnet.family)
    anyTrusted = true
  }
  const isTrusted = (hop: Address) => trusted.check(hop.address, hop.family)

  return (socketAddress, headers) => {
    const peer = socketAddress === undefined ? undefined : canonical(socketAddress)
    if (peer === undefined) return unknownClientIp
    if (!anyTrusted || !isTrusted(peer)) return peer.address

    const forwardedFor = headers["x-forwarded-for"]
    if (forwardedFor !== undefined) {
      const hops = forwardedFor.split(",")
      let vouched = peer.address
      for (let index = hops.length - 1; index >= 0; index--) {
        const hop = parseHop(hops[index]!)
        if (hop === undefined) return vouched
        if (!isTrusted(hop)) return hop.address
        vouched = hop.address
      }
      return vouched
    }
    const realIp = headers["x-real-ip"]
    return (realIp === undefined ? undefined : parseHop(realIp))?.address ?? peer.address
  }
}

/**
 * The rate-limit key for a client address: IPv4 as is, IPv6 by its /64, because one subscriber
 * usually holds a whole /64 and could otherwise take a fresh bucket per address.
 */
export const rateLimitKeyOf = (clientIp: string): string => {
  if (!clientIp.includes(":")) return clientIp
  const [head = "", tail] = clientIp.split("::")
  const headGroups = head === "" ? [] : head.split(":")
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":")
  const groups = [
    ...headGroups,
    ...Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill("0"),
    ...tailGroups
  ]
  return `${groups.slice(0, 4).join(":")}::/64`
}
