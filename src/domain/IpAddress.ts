import { isIP } from "node:net"

/**
 * IP addresses and CIDRs as the configuration writes them (`server.trusted_proxies`): parsed here, below
 * the HTTP room that resolves client addresses with them and the start-up checks that validate them.
 */

type Family = "ipv4" | "ipv6"
export interface Address {
  readonly address: string
  readonly family: Family
}

const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/
const mappedDotted = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i

/**
 * One spelling per address, so that `2001:DB8:0::1` and `2001:db8::1` share a bucket and a client
 * reaching a dual-stack socket as `::ffff:1.2.3.4` is the same client as `1.2.3.4`. Accepts exactly
 * an IPv4 dotted quad or an IPv6 address (zone id dropped); anything else is `undefined`.
 */
export const canonical = (text: string): Address | undefined => {
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

export interface Subnet {
  readonly network: string
  readonly prefix: number
  readonly family: Family
}

const prefixPattern = /^\d{1,3}$/

/** `address` or `address/prefix`; an IPv4-mapped IPv6 subnet of /96 or longer becomes its IPv4 subnet. */
export const parseCidr = (text: string): Subnet | undefined => {
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
