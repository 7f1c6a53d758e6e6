import * as fs from "node:fs"
import { Duration, Effect, Either } from "effect"
import type { DatabaseDescriptor } from "../attach/Attachments.js"
import { planExtensions, resolveExtensionDirectory } from "../attach/Extensions.js"
import { resolveFileRoots } from "../attach/FilePolicy.js"
import { compileHostPolicy } from "../attach/HostPolicy.js"
import { poolOptionsFromConfig } from "../duckdb/ConnectionPool.js"
import type { EngineContext } from "../duckdb/Engine.js"
import { StatementGate } from "../gate/StatementGate.js"
import { AppConfig } from "./AppConfig.js"
import { SecretBox } from "./SecretBox.js"

/**
 * What every DuckDB engine is built with, resolved once at start from the configuration: the
 * extension directory, file roots, upstream host policy, pool options, the secret box that keeps
 * connection strings sealed, and the gate that audits attached files.
 */
export class Engines extends Effect.Service<Engines>()("pondpilot/Engines", {
  effect: Effect.gen(function* () {
    const config = yield* AppConfig
    const secretBox = yield* SecretBox
    const gate = yield* StatementGate
    const directory = resolveExtensionDirectory({
      configured: config.duckdb.extension_directory,
      baseDir: config.configDir,
      cwd: process.cwd(),
      exists: (candidate) => fs.existsSync(candidate)
    })
    const hostPolicy = compileHostPolicy(config.duckdb.upstream_hosts)
    if (Either.isLeft(hostPolicy)) return yield* Effect.dieMessage(hostPolicy.left.join("; "))
    const extensions = {
      extensions: config.duckdb.extensions,
      directory,
      repository: config.duckdb.extension_repository,
      baseDir: config.configDir
    }
    for (const { requested, reason } of planExtensions(extensions).skipped) {
      yield* Effect.logInfo("extension not loaded").pipe(
        Effect.annotateLogs({ extension: requested, reason })
      )
    }
    const context: EngineContext = {
      attach: {
        secretBox,
        configDir: config.configDir,
        fileRoots: yield* resolveFileRoots(config.duckdb.file_roots, config.configDir),
        hostPolicy: hostPolicy.right,
        scrubAlso: directory === undefined ? [] : [directory],
        statementTimeoutMillis: Duration.toMillis(config.query.timeout)
      },
      extensions,
      gate,
      pool: poolOptionsFromConfig(config.duckdb.connection_pool)
    }

    /** The config's databases, their connection strings sealed from here on. */
    const configDatabases: Effect.Effect<ReadonlyArray<DatabaseDescriptor>> = Effect.forEach(
      config.duckdb.attached_databases,
      (database) =>
        Effect.map(secretBox.seal(database.connection_string), (connectionString) => ({
          alias: database.alias,
          type: database.type,
          source: "config" as const,
          connectionString
        }))
    )

    return {
      context,
      configDatabases,
      /** A replaced engine may serve its running queries this long (they cannot outlive the query timeout). */
      retireAfter: Duration.sum(config.query.timeout, Duration.seconds(5))
    } as const
  }),
  dependencies: [SecretBox.DefaultWithoutDependencies, StatementGate.Default]
}) {}
