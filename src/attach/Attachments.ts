import { Effect, Either, type Redacted } from "effect"
import type { DatabaseType } from "../domain/Config.js"
import type { ForbiddenStatement, InvalidRequest } from "../domain/Errors.js"
import type { Sealed } from "../domain/Sealed.js"
import { type AttachPlan, planAttach } from "./AttachPlan.js"
import { type AttachSource, isFileConnection, parseConnectionString } from "./ConnectionStrings.js"
import { checkFileAttach } from "./FilePolicy.js"
import { checkHost, type HostPolicy } from "./HostPolicy.js"

/** A database of an instance, as stored: its connection string only ever sealed. */
export interface DatabaseDescriptor {
  readonly alias: string
  /** As the client or the config named it (`postgresql` stays `postgresql`). */
  readonly type: DatabaseType
  readonly source: AttachSource
  readonly connectionString: Sealed
}

/** Seals and opens connection strings: what attaching needs of the SecretBox service (services/SecretBox.ts). */
export interface ConnectionSealing {
  readonly seal: (plaintext: Redacted.Redacted<string>) => Effect.Effect<Sealed>
  /** Fails only on an envelope that is not ours or was tampered with: a defect here. */
  readonly open: (sealed: Sealed) => Effect.Effect<Redacted.Redacted<string>, unknown>
}

/** What turning a descriptor into SQL needs; resolved once, at start. */
export interface AttachContext {
  readonly secretBox: ConnectionSealing
  /** Relative paths of the config file resolve against its directory. */
  readonly configDir: string
  /** `duckdb.file_roots`, resolved; relative API paths resolve against the first. */
  readonly fileRoots: ReadonlyArray<string>
  readonly hostPolicy: HostPolicy
  /** Literals to scrub from attach errors besides the credentials (the extension directory). */
  readonly scrubAlso: ReadonlyArray<string>
  /** `query.timeout`, which PostgreSQL upstreams enforce on our statements too. */
  readonly statementTimeoutMillis?: number
}

/**
 * The statements that attach `database`: its connection string is opened only here, checked against
 * the file roots or upstream hosts when a client named it, and dropped with the plan.
 */
export const planDatabase = (
  database: DatabaseDescriptor,
  context: AttachContext
): Effect.Effect<AttachPlan, InvalidRequest | ForbiddenStatement> =>
  Effect.gen(function* () {
    const connectionString = yield* context.secretBox.open(database.connectionString).pipe(Effect.orDie)
    const baseDir =
      database.source === "config" ? context.configDir : (context.fileRoots[0] ?? context.configDir)
    const parsed = parseConnectionString(database.type, connectionString, {
      baseDir,
      source: database.source
    })
    if (Either.isLeft(parsed)) return yield* parsed.left
    const connection = parsed.right
    const options = {
      source: database.source,
      scrubAlso: context.scrubAlso,
      ...(context.statementTimeoutMillis === undefined
        ? {}
        : { statementTimeoutMillis: context.statementTimeoutMillis })
    }
    if (isFileConnection(connection)) {
      const allowed = yield* checkFileAttach(connection, database.source, context.fileRoots)
      return planAttach(database.alias, { type: allowed.type, path: allowed.path }, options)
    }
    if (database.source === "config") return planAttach(database.alias, connection, options)
    const decision = yield* checkHost(context.hostPolicy, connection.host)
    return planAttach(
      database.alias,
      connection,
      decision.pinnedAddress === undefined ? options : { ...options, pinnedAddress: decision.pinnedAddress }
    )
  })
