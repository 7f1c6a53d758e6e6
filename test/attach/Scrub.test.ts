import { describe, expect, it } from "vitest"
import { makeScrubber, maxMessageChars, scrubMessage } from "../../src/attach/Scrub.js"

describe("scrubMessage", () => {
  it("leaves ordinary messages alone", () => {
    const message = 'Binder Error: Referenced column "x" not found in FROM clause!\nCandidate bindings: "y"'
    expect(scrubMessage(message)).toBe(message)
    expect(scrubMessage("Catalog Error: Table with name t does not exist!", ["s3cret"])).toBe(
      "Catalog Error: Table with name t does not exist!"
    )
  })

  it("removes database URLs whole, and other URLs that carry credentials", () => {
    expect(
      scrubMessage('IO Error: Unable to connect to "postgresql://app:pw@db:5432/sales?sslmode=require": x')
    ).toBe('IO Error: Unable to connect to "<connection string>": x')
    expect(scrubMessage("failed mysql://root:pw@10.0.0.1/shop and postgres://h/d")).toBe(
      "failed <connection string> and <connection string>"
    )
    expect(scrubMessage("see https://user:tok@example.com/x")).toBe("see <connection string>")
    // A documentation link is no secret.
    const docs =
      "For more info, visit https://duckdb.org/docs/stable/extensions/troubleshooting?version=v1.5.5&platform=linux_amd64"
    expect(scrubMessage(docs)).toBe(docs)
  })

  it("removes libpq/MySQL key=value credentials, bare or quoted, even cut short", () => {
    expect(scrubMessage("dsn host=db password=hunter2 user=u")).toBe("dsn host=db password=<redacted> user=u")
    expect(scrubMessage(String.raw`host=db password='it\'s a secret' user=u`)).toBe(
      "host=db password=<redacted> user=u"
    )
    expect(scrubMessage('passwd="a \\"b\\"" db=x')).toBe("passwd=<redacted> db=x")
    expect(scrubMessage("host=db PASSWORD = 'cut sho")).toBe("host=db PASSWORD = <redacted>")
    expect(scrubMessage("sslpassword=k1 oauth_client_secret=k2")).toBe(
      "sslpassword=<redacted> oauth_client_secret=<redacted>"
    )
  })

  it("removes the connection string a scanner quotes in its error, whole, quotes in the password included", () => {
    const pg = scrubMessage(
      `IO Error: Unable to connect to Postgres at "host=db.internal port=5432 dbname=shop user=writer password='pw"x: y'": connection to server at "db.internal", port 5432 failed: FATAL:  password authentication failed for user "writer"`
    )
    expect(pg).toBe(
      'IO Error: Unable to connect to Postgres at "<connection string>": connection to server at "db.internal", port 5432 failed: FATAL:  password authentication failed for user "writer"'
    )
    const my = scrubMessage(
      `IO Error: Failed to connect to MySQL database with parameters "host=db user=app password=s3cret database=crm": Unknown database 'crm'. Attempted host: db`
    )
    expect(my).toBe(
      "IO Error: Failed to connect to MySQL database with parameters \"<connection string>\": Unknown database 'crm'. Attempted host: db"
    )
    // Empty (a secret carried the settings): nothing to remove.
    const empty =
      'IO Error: Unable to connect to Postgres at "": connection to server at "127.0.0.1", port 1 failed'
    expect(scrubMessage(empty)).toBe(empty)
  })

  it("removes SQL credential literals that the parser echoes", () => {
    expect(scrubMessage("LINE 1: ...USER 'u', PASSWORD 'Pa55''word',,)\n                    ^")).toBe(
      "LINE 1: ...USER 'u', PASSWORD '<redacted>',,)\n                    ^"
    )
    expect(scrubMessage("LINE 1: CREATE SECRET s (TYPE http, BEARER_TOKEN 'abc")).toBe(
      "LINE 1: CREATE SECRET s (TYPE http, BEARER_TOKEN '<redacted>'"
    )
  })

  it("removes given secret values wherever they are, longest first", () => {
    expect(scrubMessage("a pw123 b pw1234 c", ["pw123", "pw1234"])).toBe("a <redacted> b <redacted> c")
    expect(scrubMessage("host db refused", ["db", ""])).toBe("host <redacted> refused")
  })

  it("replaces server paths, keeping the last segment", () => {
    expect(
      scrubMessage(
        'IO Error: Extension "/opt/pondpilot/extensions/v1.5.5/linux_amd64/postgres_scanner.duckdb_extension" not found.'
      )
    ).toBe('IO Error: Extension "<path>/postgres_scanner.duckdb_extension" not found.')
    expect(scrubMessage(`Cannot open '/srv/my data/sales.duckdb': no`)).toBe(
      "Cannot open '<path>/sales.duckdb': no"
    )
    expect(scrubMessage("opening /var/lib/x/app.db failed")).toBe("opening <path>/app.db failed")
    expect(scrubMessage("dir /var/lib/x/ gone")).toBe("dir <path>/x gone")
  })

  it("does not take division or URLs for paths", () => {
    expect(scrubMessage("LINE 1: SELECT 1 / 2, 4/2, a /b")).toBe("LINE 1: SELECT 1 / 2, 4/2, a /b")
  })

  it("is quick when there is nothing to scrub", () => {
    const message = "Binder Error: Referenced column x not found in FROM clause! Candidate bindings: y, z"
    const scrub = makeScrubber(["some-password", "/opt/pondpilot/extensions"])
    const started = performance.now()
    for (let i = 0; i < 100_000; i++) scrub(message)
    const perCall = (performance.now() - started) / 100_000
    // Well under a microsecond on an idle machine; the bound leaves room for a loaded 2-core CI box.
    expect(perCall).toBeLessThan(0.05)
  })
})

describe("scrubMessage on a huge message", () => {
  it("cuts it before scrubbing: a 110 MB message takes milliseconds and comes back short", () => {
    // Flat, as a message from DuckDB is (a string built by repeat() is flattened by the first slice).
    const huge = Buffer.alloc(110_000_000, "password=x ").toString("latin1")
    const started = performance.now()
    const out = scrubMessage(huge)
    // A few milliseconds on an idle machine; scrubbing it whole took about 9 s.
    expect(performance.now() - started).toBeLessThan(500)
    // Placeholders are longer than what they replace: bounded, not exact.
    expect(out.length).toBeLessThanOrEqual(3 * maxMessageChars)
    expect(out).toContain("message truncated")
    expect(out).not.toMatch(/password=x/)
  })

  it("still removes a literal secret that straddles the cut", () => {
    const secret = "s3cr3t-value-0123456789"
    const message = `${"a".repeat(maxMessageChars - 5)}${secret} and more`
    const out = scrubMessage(message, [secret])
    expect(out).not.toContain("s3cr3t")
    expect(out).not.toContain(secret.slice(0, 5))
  })
})
