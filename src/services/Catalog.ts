import type { DuckDBConnection } from "@duckdb/node-api"
import { Duration, Effect } from "effect"
import { classifyUpstreamError } from "../attach/HostPolicy.js"
import { scrubMessage } from "../attach/Scrub.js"
import {
  type PoolExhausted,
  QueryTimeout,
  type ShuttingDown,
  SqlError,
  type UpstreamUnavailable
} from "../domain/Errors.js"
import type { ConnectionPool } from "../duckdb/ConnectionPool.js"
import type { Instance } from "../duckdb/Instance.js"
import { quoteLiteral } from "../sql/Quote.js"
import { AppConfig } from "./AppConfig.js"

/**
 * What an instance can query, for a client's database explorer: databases, schemas, tables and
 * views with their columns and DuckDB types. Read from DuckDB's catalog functions on a pooled
 * connection (server SQL, not a client's: the gate is not asked, so this file decides what shows).
 * Never shown: paths and connection strings (only names are read), DuckDB's internal databases
 * (`system`, `temp`), internal schemas (`information_schema`, `pg_catalog`, PostgreSQL's `pg_*`, MySQL's
 * `mysql`, `performance_schema` and `sys`),
 * internal views, view and macro definitions.
 *
 * The attached databases' part is cached per engine: an engine's attachments never change (attach,
 * detach and recovery build a new engine and swap it in), so a new engine is a new cache entry and
 * the old one goes with it. The instance's own `memory` database, which a writable instance may
 * change with every query, is read on every call.
 */

/** At most this many tables and views in one answer; the rest is cut and `truncated` set. */
export const catalogRelationLimit = 1_000

export interface CatalogColumn {
  readonly name: string
  readonly type: string
  readonly nullable: boolean
}

export interface CatalogRelation {
  readonly name: string
  readonly columns: ReadonlyArray<CatalogColumn>
}

export interface CatalogSchema {
  readonly name: string
  readonly tables: ReadonlyArray<CatalogRelation>
  readonly views: ReadonlyArray<CatalogRelation>
}

export interface CatalogDatabase {
  readonly name: string
  readonly type: string
  readonly schemas: ReadonlyArray<CatalogSchema>
}

export interface CatalogListing {
  readonly databases: ReadonlyArray<CatalogDatabase>
  readonly truncated: boolean
}

export type CatalogError = SqlError | UpstreamUnavailable | QueryTimeout | PoolExhausted | ShuttingDown

const ownDatabase = "memory"

const databasesSql =
  "SELECT database_name, type FROM duckdb_databases() " +
  "WHERE NOT internal AND database_name NOT IN ('system', 'temp') ORDER BY database_oid"

/** Schemas that are the upstream's own machinery, never a client's data. */
const internalSchemas = (type: string): string => {
  const names = [
    "information_schema",
    "pg_catalog",
    ...(type === "mysql" ? ["mysql", "performance_schema", "sys"] : [])
  ]
  const listed = `schema_name NOT IN (${names.map(quoteLiteral).join(", ")})`
  return type === "postgres" ? `${listed} AND NOT starts_with(schema_name, 'pg_')` : listed
}

const schemasSql = (type: string) =>
  `SELECT schema_name FROM duckdb_schemas() WHERE database_name = $1 AND ${internalSchemas(type)} ORDER BY schema_name`

/** Tables and views of one database, at most $2 of them, each with its columns in order. */
const relationsSql = (type: string) => `
WITH relation AS (
  SELECT schema_name, name, kind FROM (
    SELECT schema_name, table_name AS name, 'table' AS kind FROM duckdb_tables()
     WHERE database_name = $1 AND NOT internal AND NOT temporary
    UNION ALL
    SELECT schema_name, view_name, 'view' FROM duckdb_views()
     WHERE database_name = $1 AND NOT internal AND NOT temporary
  ) WHERE ${internalSchemas(type)}
  ORDER BY schema_name, name LIMIT $2
)
SELECT r.schema_name, r.name, r.kind, c.column_name, c.data_type, c.is_nullable
  FROM relation r LEFT JOIN duckdb_columns() c
    ON c.database_name = $1 AND c.schema_name = r.schema_name AND c.table_name = r.name
 ORDER BY r.schema_name, r.name, c.column_index`

type Row = ReadonlyArray<unknown>

const read = async (
  connection: DuckDBConnection,
  sql: string,
  params: Array<string | number | boolean> = []
) => (await connection.runAndReadAll(sql, params)).getRowsJS() as Array<Row>

/** Reads one database; `limit` counts tables and views, `limit + 1` is asked for to know if any were cut. */
const readDatabase = async (
  connection: DuckDBConnection,
  name: string,
  type: string,
  limit: number
): Promise<{ database: CatalogDatabase; relations: number; more: boolean }> => {
  const schemas = new Map<string, { tables: Array<CatalogRelation>; views: Array<CatalogRelation> }>()
  for (const [schema] of await read(connection, schemasSql(type), [name])) {
    schemas.set(String(schema), { tables: [], views: [] })
  }
  let relations = 0
  let more = false
  let current: { key: string; columns: Array<CatalogColumn> } | undefined
  for (const [schema, relation, kind, column, columnType, nullable] of await read(
    connection,
    relationsSql(type),
    [name, limit + 1]
  )) {
    const key = `${String(schema)}\u0000${String(relation)}`
    if (current?.key !== key) {
      if (relations === limit) {
        more = true
        break
      }
      relations++
      current = { key, columns: [] }
      let entry = schemas.get(String(schema))
      if (entry === undefined) {
        entry = { tables: [], views: [] }
        schemas.set(String(schema), entry)
      }
      const list = kind === "view" ? entry.views : entry.tables
      list.push({ name: String(relation), columns: current.columns })
    }
    if (column !== null) {
      current.columns.push({ name: String(column), type: String(columnType), nullable: nullable === true })
    }
  }
  return {
    database: {
      name,
      type,
      schemas: [...schemas].map(([schemaName, entry]) => ({ name: schemaName, ...entry }))
    },
    relations,
    more
  }
}

interface Part {
  readonly databases: ReadonlyArray<CatalogDatabase>
  readonly relations: number
  readonly truncated: boolean
}

/** Reads `memory` (own) or every other database, until `limit` relations are listed. */
const readPart = async (connection: DuckDBConnection, own: boolean, limit: number): Promise<Part> => {
  const databases: Array<CatalogDatabase> = []
  let relations = 0
  let truncated = false
  for (const [name, type] of await read(connection, databasesSql)) {
    if ((name === ownDatabase) !== own) continue
    if (truncated) break
    try {
      const one = await readDatabase(connection, String(name), String(type), limit - relations)
      relations += one.relations
      truncated = one.more
      databases.push(one.database)
    } catch (error) {
      throw classifyUpstreamError(String(name), errorText(error)) ?? error
    }
  }
  return { databases, relations, truncated }
}

/** How long an interrupted catalog read may take to stop before its connection is thrown away. */
const interruptGraceMillis = 5_000

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error))

export class Catalog extends Effect.Service<Catalog>()("pondpilot/Catalog", {
  effect: Effect.gen(function* () {
    const config = yield* AppConfig
    const timeout = config.query.timeout
    const attachedParts = new WeakMap<ConnectionPool, Part>()

    /**
     * Runs `work` on a pooled connection of the engine that serves now. On timeout DuckDB is
     * interrupted; a connection whose call has not let go after the grace (a scanner waiting on an
     * upstream) is thrown away rather than returned, as the query path does.
     */
    const onConnection = <A>(instance: Instance, work: (connection: DuckDBConnection) => Promise<A>) =>
      Effect.acquireUseRelease(
        Effect.map(instance.acquire(), (pooled) => ({ pooled, abandoned: false })),
        (lent) =>
          Effect.tryPromise({
            try: () => {
              const pending = work(lent.pooled.raw)
              lent.pooled.pending = pending
              return pending
            },
            catch: (error): SqlError | UpstreamUnavailable =>
              (error as { _tag?: string })._tag === "UpstreamUnavailable"
                ? (error as UpstreamUnavailable)
                : new SqlError({
                    message: `the catalog could not be read: ${scrubMessage(errorText(error))}`
                  })
          }).pipe(
            Effect.onInterrupt(() =>
              Effect.promise(async () => {
                lent.pooled.interruptRun()
                let timer: ReturnType<typeof setTimeout> | undefined
                const gaveUp = new Promise<void>((resolve) => {
                  timer = setTimeout(() => {
                    lent.abandoned = true
                    resolve()
                  }, interruptGraceMillis)
                })
                await Promise.race([lent.pooled.pending?.catch(() => undefined), gaveUp])
                clearTimeout(timer)
              })
            )
          ),
        ({ pooled, abandoned }, exit) =>
          Effect.sync(() => {
            if (abandoned) return pooled.owner.discard(pooled)
            pooled.pending = undefined
            pooled.owner.release(pooled, exit._tag === "Failure")
          })
      ).pipe(
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () =>
            new QueryTimeout({
              message: `reading the catalog took longer than ${Duration.format(timeout)} and was stopped`
            })
        })
      )

    /** The attached databases of the engine serving now, read once per engine. */
    const attachedPart = (instance: Instance): Effect.Effect<Part, CatalogError> => {
      const pool = instance.pool
      const cached = attachedParts.get(pool)
      if (cached !== undefined) return Effect.succeed(cached)
      // Only a success is kept: after a failure (an upstream down) the next call tries again.
      return Effect.tap(
        onConnection(instance, (connection) => readPart(connection, false, catalogRelationLimit)),
        (part) => Effect.sync(() => attachedParts.set(pool, part))
      )
    }

    const list = (instance: Instance): Effect.Effect<CatalogListing, CatalogError> =>
      Effect.gen(function* () {
        const own = yield* onConnection(instance, (connection) =>
          readPart(connection, true, catalogRelationLimit)
        )
        const attached = yield* attachedPart(instance)
        const room = catalogRelationLimit - own.relations
        return {
          databases: [...own.databases, ...cut(attached, room)],
          truncated: own.truncated || attached.truncated || attached.relations > room
        }
      })

    return { list } as const
  })
}) {}

/** The first `room` relations of `part`, in order. */
const cut = (part: Part, room: number): ReadonlyArray<CatalogDatabase> => {
  if (part.relations <= room) return part.databases
  let left = room
  const take = (relations: ReadonlyArray<CatalogRelation>) => {
    const kept = relations.slice(0, Math.max(0, left))
    left -= kept.length
    return kept
  }
  return part.databases.map((database) => ({
    ...database,
    schemas: database.schemas.map((schema) => {
      const tables = take(schema.tables)
      const views = take(schema.views)
      return { ...schema, tables, views }
    })
  }))
}
