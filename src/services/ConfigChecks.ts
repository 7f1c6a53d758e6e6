import { Either } from "effect"
import type { Settings } from "../domain/ConfigLoader.js"
import { parseConnectionString } from "../duckdb/ConnectionStrings.js"
import { extensionNameProblems } from "../duckdb/Extensions.js"
import { compileHostPolicy } from "../duckdb/HostPolicy.js"
import { validateTrustedProxies } from "../http/ClientIp.js"

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
