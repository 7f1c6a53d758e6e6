import { Effect, Either, Exit } from "effect"
import { describe, expect, it } from "vitest"
import {
  checkHost,
  classifyQueryFailure,
  classifyUpstreamError,
  classifyUpstreamFailure,
  compileHostPolicy,
  HostNotAllowed,
  type Resolver,
  type UpstreamFailure
} from "../../src/attach/HostPolicy.js"

const policy = (...patterns: Array<string>) => Either.getOrThrow(compileHostPolicy(patterns))

const dnsTable: Record<string, ReadonlyArray<string>> = {
  "pg.internal": ["10.1.2.3"],
  "mixed.example": ["10.1.2.4", "169.254.169.254"],
  "v6.example": ["fd00::42"],
  "public.example": ["93.184.216.34"]
}
const lookups: Array<string> = []
const fakeDns: Resolver = (host) => {
  lookups.push(host)
  const found = dnsTable[host]
  return found === undefined ? Effect.fail(new Error("ENOTFOUND")) : Effect.succeed(found)
}

const decide = async (patterns: Array<string>, host: string) => {
  const exit = await Effect.runPromiseExit(checkHost(policy(...patterns), host, fakeDns))
  return Exit.match(exit, {
    onSuccess: (decision) =>
      decision.pinnedAddress === undefined ? "allowed" : `pinned ${decision.pinnedAddress}`,
    onFailure: (cause) => (cause._tag === "Fail" ? `${cause.error._tag}: ${cause.error.message}` : "defect")
  })
}
const refused = `ForbiddenStatement: ${HostNotAllowed}`

describe("compileHostPolicy", () => {
  it("reports every bad entry by its path", () => {
    expect(compileHostPolicy(["*", "10.0.0.0/33", "not a host", "::1/129", "*.", "db.internal"])).toEqual(
      Either.left([
        "duckdb.upstream_hosts[1]: not a valid CIDR",
        'duckdb.upstream_hosts[2]: expected "*", a host name, "*.domain", an IP address or a CIDR',
        "duckdb.upstream_hosts[3]: not a valid CIDR",
        'duckdb.upstream_hosts[4]: expected "*", a host name, "*.domain", an IP address or a CIDR'
      ])
    )
  })
})

describe("checkHost", () => {
  it("allows anything with the default *", async () => {
    expect(await decide(["*"], "169.254.169.254")).toBe("allowed")
    expect(await decide(["*"], "anything.example")).toBe("allowed")
  })

  it("matches exact names case-insensitively, ignoring a trailing dot", async () => {
    expect(await decide(["db.internal"], "DB.Internal.")).toBe("allowed")
    expect(await decide(["db.internal"], "db.internal.evil.com")).toBe(refused)
    expect(await decide(["db.internal"], "xdb.internal")).toBe(refused)
  })

  it("matches wildcards below the domain, not the domain itself", async () => {
    expect(await decide(["*.db.internal"], "pg.db.internal")).toBe("allowed")
    expect(await decide(["*.db.internal"], "a.b.db.internal")).toBe("allowed")
    expect(await decide(["*.db.internal"], "db.internal")).toBe(refused)
    expect(await decide(["*.db.internal"], "evildb.internal")).toBe(refused)
  })

  it("checks IP literals against addresses and CIDRs, IPv4 and IPv6", async () => {
    expect(await decide(["10.0.0.0/8"], "10.9.9.9")).toBe("allowed")
    expect(await decide(["10.0.0.0/8"], "11.0.0.1")).toBe(refused)
    expect(await decide(["10.0.0.5"], "10.0.0.5")).toBe("allowed")
    expect(await decide(["fd00::/8"], "[fd12::1]")).toBe("allowed")
    expect(await decide(["fd00::/8"], "fe80::1")).toBe(refused)
    // IPv4-mapped IPv6 is the IPv4 address.
    expect(await decide(["10.0.0.0/8"], "::ffff:10.1.1.1")).toBe("allowed")
    expect(await decide(["10.0.0.0/8"], "::ffff:169.254.169.254")).toBe(refused)
  })

  it("resolves names for CIDRs, requires every address inside, and pins the first", async () => {
    expect(await decide(["10.0.0.0/8"], "pg.internal")).toBe("pinned 10.1.2.3")
    expect(await decide(["fd00::/8"], "v6.example")).toBe("pinned fd00::42")
    expect(await decide(["10.0.0.0/8"], "mixed.example")).toBe(refused)
    expect(await decide(["10.0.0.0/8"], "public.example")).toBe(refused)
  })

  it("refuses unresolvable names with the same message (no DNS oracle)", async () => {
    expect(await decide(["10.0.0.0/8"], "nope.example")).toBe(refused)
  })

  it("does not resolve names that a name pattern admits, nor when no address rule exists", async () => {
    lookups.length = 0
    expect(await decide(["*.internal", "10.0.0.0/8"], "pg.internal")).toBe("allowed")
    expect(await decide(["db.internal"], "public.example")).toBe(refused)
    expect(lookups).toEqual([])
  })

  it("refuses things that are not host names", async () => {
    expect(await decide(["10.0.0.0/8"], "/var/run/postgresql")).toBe(refused)
    expect(await decide(["*.x"], "a b.x")).toBe(refused)
  })

  it("uses the system resolver by default (localhost resolves to loopback)", async () => {
    const decision = await Effect.runPromise(checkHost(policy("127.0.0.0/8", "::1/128"), "localhost"))
    expect(decision.pinnedAddress).toMatch(/^(127\.|::1$)/)
  })
})

describe("classifyUpstreamError", () => {
  // libpq 15 and MariaDB Connector/C texts measured on Debian 12, wrapped as the 1.5.5 scanners do.
  const pg = (text: string) => `IO Error: Unable to connect to Postgres at "": ${text}`
  const my = (text: string) => `IO Error: Failed to connect to MySQL database with parameters "": ${text}`
  const cases: ReadonlyArray<readonly [UpstreamFailure, string, ReadonlyArray<string>]> = [
    [
      "refused_login",
      'database "sales" refused the login',
      [
        pg(
          'connection to server at "127.0.0.1", port 55432 failed: FATAL:  password authentication failed for user "admin"'
        ),
        pg('connection to server at "127.0.0.1", port 5432 failed: fe_sendauth: no password supplied'),
        pg(
          'connection to server at "10.0.0.1", port 5432 failed: FATAL:  no pg_hba.conf entry for host "10.0.0.2", user "u", database "d", no encryption'
        ),
        my("Access denied for user 'app'@'127.0.0.1' (using password: YES). Attempted host: 127.0.0.1"),
        my("Access denied for user 'app'@'%' to database 'nodb'. Attempted host: 127.0.0.1")
      ]
    ],
    [
      "unknown_database",
      'database "sales" refused the login: the server has no database of that name',
      [
        pg('connection to server at "127.0.0.1", port 55432 failed: FATAL:  database "nodb" does not exist'),
        my("Unknown database 'nosuch'. Attempted host: 127.0.0.1")
      ]
    ],
    [
      "tls_required",
      'database "sales" could not be reached: TLS is required but the server does not offer it',
      [
        pg(
          'connection to server at "127.0.0.1", port 41777 failed: server does not support SSL, but SSL was required'
        ),
        my("TLS/SSL error: SSL is required, but the server does not support it. Attempted host: 127.0.0.1")
      ]
    ],
    [
      "unknown_host",
      'database "sales" could not be reached: its host name does not resolve',
      [
        pg('could not translate host name "nonexistent.invalid" to address: Name or service not known'),
        my("Unknown server host 'nonexistent.invalid' (-2). Attempted host: nonexistent.invalid")
      ]
    ],
    [
      "refused",
      'database "sales" could not be reached: the connection was refused',
      [
        pg(
          'connection to server at "127.0.0.1", port 55499 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?'
        ),
        my("Can't connect to server on '127.0.0.1' (115). Attempted host: 127.0.0.1"),
        my("Can't connect to MySQL server on 'db' (111)")
      ]
    ],
    [
      "unreachable",
      'database "sales" could not be reached',
      [
        pg('connection to server at "10.0.0.1", port 5432 failed: timeout expired'),
        my("Can't connect to server on '10.0.0.1' (110). Attempted host: 10.0.0.1")
      ]
    ]
  ]

  for (const [failure, expected, messages] of cases) {
    it.each(messages)(`${failure}: %s`, (message) => {
      expect(classifyUpstreamFailure(message)).toBe(failure)
      const error = classifyUpstreamError("sales", message)
      expect(error?._tag).toBe("UpstreamUnavailable")
      expect(error?.message).toBe(expected)
    })
  }

  it("says something different for each kind of failure", () => {
    expect(new Set(cases.map(([, expected]) => expected)).size).toBe(cases.length)
  })

  it("leaves other errors alone", () => {
    expect(classifyUpstreamError("sales", "Binder Error: column x not found")).toBeUndefined()
    expect(
      classifyUpstreamError(
        "sales",
        "Permission Error: Attaching Postgres databases is disabled through configuration"
      )
    ).toBeUndefined()
  })
})

describe("classifyQueryFailure", () => {
  it("answers 502 when a query's upstream went away, naming no host", () => {
    const down = classifyQueryFailure(
      'IO Error: Unable to connect to Postgres at "": connection to server at "127.0.0.1", port 41777 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?'
    )
    expect(down?._tag).toBe("UpstreamUnavailable")
    expect(down?.message).toBe(
      "an attached database this query reads could not be reached: the connection was refused"
    )
    expect(
      classifyQueryFailure(
        "IO Error: Failed to execute query: server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally"
      )?.message
    ).toBe("an attached database this query reads could not be reached")
  })

  it("leaves SQL errors alone, even when they quote such words", () => {
    expect(
      classifyQueryFailure("Conversion Error: Could not convert string 'Connection refused' to INT32")
    ).toBeUndefined()
    expect(
      classifyQueryFailure('Binder Error: Referenced column "Unknown database" not found')
    ).toBeUndefined()
  })
})
