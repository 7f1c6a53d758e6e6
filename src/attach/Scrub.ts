/**
 * Makes a DuckDB error message fit for a client or a log: no credentials, no connection strings, no
 * server file paths (api.md). Runs on every `sql_error`, so the common case (nothing to remove) costs
 * one cheap test.
 *
 * Paths keep their last segment (`"<path>/sales.duckdb"`): it tells a client which of its own files
 * is meant without revealing the server's directory layout.
 */

export const RedactedPlaceholder = "<redacted>"
export const ConnectionStringPlaceholder = "<connection string>"
export const PathPlaceholder = "<path>"

// The scanners quote the whole connection string they failed with (empty when a secret carried it):
// dropped whole, up to the `": ` that follows it, so that a quote inside a password does not end it.
const scannerConnectionString =
  /(Unable to connect to Postgres at |Failed to connect to MySQL database with parameters )"(?!")[^\n]*?"(?=: |$)/g
// Database URLs are dropped whole; any other URL only when it carries credentials (user:pass@).
const databaseUrl = /\b(?:postgres(?:ql)?|mysqlx?|mariadb|rediss?|jdbc:[a-z0-9]+):\/\/[^\s'"`<>]*/gi
const urlWithCredentials = /\b[a-z][a-z0-9+.-]*:\/\/[^\s/@'"`<>]*:[^\s@'"`<>]*@[^\s'"`<>]*/gi
// libpq / MySQL key=value credentials, the value bare or quoted (possibly cut short by DuckDB).
const credentialKeys = "password|passwd|pwd|sslpassword|oauth_client_secret|scram_client_key|scram_server_key"
const keyValueCredential = new RegExp(
  `\\b(${credentialKeys})(\\s*=\\s*)(?:'(?:[^'\\\\\\n]|\\\\.|'')*'?|"(?:[^"\\\\\\n]|\\\\.)*"?|[^\\s'"]\\S*)`,
  "gi"
)
// CREATE SECRET echoed in a parser error: `PASSWORD 'x'`, maybe cut at the end of the line.
const sqlCredential = new RegExp(`\\b(${credentialKeys}|bearer_token)(\\s+)'(?:[^'\\n]|'')*'?`, "gi")
// A quoted absolute path, or a bare one with at least two segments (fewer false hits on SQL like `1 /2`).
const quotedPath = /(["'])(\/[^"'\n]*)\1/g
const barePath = /(?<![\w.:/~\\>-])\/(?:[^\s"'`,;()[\]{}<>]+\/)+[^\s"'`,;()[\]{}<>/]*/g

const mayNeedScrubbing = /[/=]|password|passwd|pwd|token|secret|scram/i

const keepBasename = (fullPath: string): string => {
  const trimmed = fullPath.replace(/\/+$/, "")
  const base = trimmed.slice(trimmed.lastIndexOf("/") + 1)
  return `${PathPlaceholder}/${base}`
}

/**
 * Characters of a message that are kept. `SELECT error(repeat('password=x ', 10000000))` makes a
 * 110 MB message: scrubbing it held the event loop for seconds and its body went to the client.
 * Messages are cut before anything else looks at them.
 */
export const maxMessageChars = 4_000
const truncatedNote = " … (message truncated)"

/** Removes `secrets` (literal values, longest first), connection strings, credentials and paths. */
export const scrubMessage = (message: string, secrets: ReadonlyArray<string> = []): string => {
  const cut = message.length > maxMessageChars
  // A secret cut in half at the end would escape the literal match: cut past it first, then again.
  const longest = secrets.reduce((max, secret) => Math.max(max, secret.length), 0)
  let out = cut ? message.slice(0, maxMessageChars + longest) : message
  if (secrets.length > 0) {
    const ordered = [...new Set(secrets)].filter((s) => s !== "").sort((a, b) => b.length - a.length)
    for (const secret of ordered) {
      if (out.includes(secret)) out = out.split(secret).join(RedactedPlaceholder)
    }
  }
  if (cut) out = out.slice(0, maxMessageChars) + truncatedNote
  if (!mayNeedScrubbing.test(out)) return out
  return out
    .replace(scannerConnectionString, (_m, lead: string) => `${lead}"${ConnectionStringPlaceholder}"`)
    .replace(databaseUrl, ConnectionStringPlaceholder)
    .replace(urlWithCredentials, ConnectionStringPlaceholder)
    .replace(keyValueCredential, (_m, key: string, eq: string) => `${key}${eq}${RedactedPlaceholder}`)
    .replace(sqlCredential, (_m, key: string, space: string) => `${key}${space}'${RedactedPlaceholder}'`)
    .replace(quotedPath, (_m, quote: string, p: string) => `${quote}${keepBasename(p)}${quote}`)
    .replace(barePath, keepBasename)
}

/** A scrubber with its secret list fixed, for a hot path that scrubs with the same values. */
export const makeScrubber =
  (secrets: ReadonlyArray<string>) =>
  (message: string): string =>
    scrubMessage(message, secrets)
