import { BlockList } from "node:net"
import type { Headers } from "@effect/platform"
import { type Address, canonical, parseCidr } from "../domain/IpAddress.js"

/**
 * The client address a request is attributed to (rate limits, audit log). The socket peer is the only
 * fact; forwarding headers are claims, believed only when the peer is a configured trusted proxy, and
 * then only as far as a chain of trusted proxies vouches for them.
 */

/** What the resolver answers when the socket has no address (a Unix socket, a test transport). */
export const unknownClientIp = "unknown"

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
