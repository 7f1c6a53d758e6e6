import { Either, Redacted } from "effect"
import { parseConnectionString } from "../attach/ConnectionStrings.js"
import { extensionNameProblems } from "../attach/Extensions.js"
import { compileHostPolicy } from "../attach/HostPolicy.js"
import type { Settings } from "../domain/ConfigLoader.js"
import { validateTrustedProxies } from "../domain/IpAddress.js"

const redisSchemes: ReadonlySet<string> = new Set(["redis:", "rediss:"])

/** The shared state store: a Redis URL, and one encryption key for every replica that reads it. */
const stateProblems = (settings: Settings): ReadonlyArray<string> => {
  const url = settings.state.redis_url
  if (url === undefined) return []
  const scheme = URL.canParse(Redacted.value(url)) ? new URL(Redacted.value(url)).protocol : undefined
  return [
    ...(scheme !== undefined && redisSchemes.has(scheme)
      ? []
      : ["state.redis_url: expected a redis:// or rediss:// (TLS) URL"]),
    ...(settings.generated.encryptionKey
      ? ["state.redis_url: replicas sharing state must share ENCRYPTION_KEY, which is not set"]
      : [])
  ]
}

/**
 * Checks that need more than the schema: CIDRs, host patterns, extension names, and every configured
 * connection string parsed for its type. One line per problem, each naming its key; a connection
 * string's problem never quotes the string.
 */
export const settingsProblems = (settings: Settings): ReadonlyArray<string> => {
  const hostPolicy = compileHostPolicy(settings.duckdb.upstream_hosts)
  return [
    ...validateTrustedProxies(settings.server.trusted_proxies),
    ...extensionNameProblems(settings.duckdb.extensions),
    ...(Either.isLeft(hostPolicy) ? hostPolicy.left : []),
    ...stateProblems(settings),
    ...settings.duckdb.attached_databases.flatMap((database, index) => {
      const parsed = parseConnectionString(database.type, database.connection_string, {
        baseDir: settings.configDir,
        source: "config"
      })
      return Either.isLeft(parsed)
        ? [`duckdb.attached_databases[${index}].connection_string: ${parsed.left.message}`]
        : []
    })
  ]
}
