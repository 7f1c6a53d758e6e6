import { Schema } from "effect"
import { formatSize, minMemoryLimitBytes, parseSize } from "../domain/Units.js"

/** Request and response bodies of the contract (api.md); JSON fields are camelCase. */

export const InstanceId = Schema.String.pipe(Schema.maxLength(64)).annotations({
  description: "`default` or `inst_…`"
})

export const DatabaseInfo = Schema.Struct({
  alias: Schema.String,
  type: Schema.String
}).annotations({ identifier: "DatabaseInfo" })

export const InstanceSettingsInfo = Schema.Struct({
  threads: Schema.Int,
  memoryLimit: Schema.String
}).annotations({ identifier: "InstanceSettings" })

export const InstanceInfo = Schema.Struct({
  id: Schema.String,
  createdAt: Schema.String.annotations({ description: "ISO-8601" }),
  lastUsedAt: Schema.String.annotations({ description: "ISO-8601" }),
  databases: Schema.Array(DatabaseInfo),
  settings: InstanceSettingsInfo
}).annotations({ identifier: "Instance" })

const MemoryLimitString = Schema.String.pipe(
  Schema.filter((text) => {
    const bytes = parseSize(text)
    if (bytes._tag === "None") return "expected a size such as 512MB or 1GB"
    return bytes.value >= minMemoryLimitBytes || `expected at least ${formatSize(minMemoryLimitBytes)}`
  })
).annotations({
  // For the document only: JSON Schema cannot spell the filter, so it is described.
  jsonSchema: {
    description:
      "A size such as 512MB, 4GB (powers of 1000) or 1GiB (powers of 1024), capped by the server's duckdb.settings.memory_limit"
  }
})

const CreateInstanceFields = Schema.Struct({
  settings: Schema.optional(
    Schema.Struct({
      threads: Schema.optional(Schema.Int.pipe(Schema.between(1, 1024))),
      memoryLimit: Schema.optional(MemoryLimitString)
    })
  )
  // Unknown keys are refused, as the OpenAPI document (additionalProperties: false) and the query route say.
}).annotations({ identifier: "CreateInstance", parseOptions: { onExcessProperty: "error" } })

/** `{}`, `{"settings": …}`, or no body at all (read as `{}`). */
export const CreateInstanceBody = Schema.transform(
  Schema.NullOr(CreateInstanceFields),
  Schema.typeSchema(CreateInstanceFields),
  { strict: true, decode: (body) => body ?? {}, encode: (body) => body }
)

export const InstanceList = Schema.Struct({ instances: Schema.Array(InstanceInfo) })

export const DatabaseList = Schema.Struct({ databases: Schema.Array(DatabaseInfo) })

export const Health = Schema.Struct({ status: Schema.Literal("healthy") })
export const Ready = Schema.Struct({ status: Schema.Literal("ready"), databases: Schema.Int })

export const RunningQueryInfo = Schema.Struct({
  id: Schema.String,
  instanceId: Schema.String,
  startedAt: Schema.String,
  elapsedMs: Schema.Int,
  queryType: Schema.NullOr(Schema.String)
}).annotations({ identifier: "RunningQuery" })

export const RunningQueryList = Schema.Struct({ queries: Schema.Array(RunningQueryInfo) })

export const QueryBody = Schema.Struct({
  query: Schema.String.annotations({ description: "Exactly one SQL statement" }),
  params: Schema.optional(
    Schema.Union(Schema.Array(Schema.Unknown), Schema.Record({ key: Schema.String, value: Schema.Unknown }))
  ).annotations({ description: "Binds `$1`/`?` positionally (array) or `$name` by name (object)" })
}).annotations({ identifier: "QueryRequest" })

export const QueryResult = Schema.Struct({
  columns: Schema.Array(Schema.Struct({ name: Schema.String, type: Schema.String })),
  rows: Schema.Array(Schema.Array(Schema.Unknown)),
  rowCount: Schema.Int,
  truncated: Schema.Boolean
}).annotations({ identifier: "QueryResult" })

export const FormatParam = Schema.Struct({
  format: Schema.optional(Schema.Literal("json", "ndjson", "csv", "arrow"))
})

const CatalogRelation = Schema.Struct({
  name: Schema.String,
  columns: Schema.Array(
    Schema.Struct({
      name: Schema.String,
      type: Schema.String.annotations({ description: "DuckDB's type name, as a query's `columns` give it" }),
      nullable: Schema.Boolean
    })
  )
}).annotations({ identifier: "CatalogRelation" })

export const CatalogListing = Schema.Struct({
  databases: Schema.Array(
    Schema.Struct({
      name: Schema.String.annotations({ description: "`memory` (the instance's own) or an attached alias" }),
      type: Schema.String.annotations({ description: "duckdb, postgres, mysql or sqlite" }),
      schemas: Schema.Array(
        Schema.Struct({
          name: Schema.String,
          tables: Schema.Array(CatalogRelation),
          views: Schema.Array(CatalogRelation)
        })
      )
    })
  ),
  truncated: Schema.Boolean.annotations({
    description: "`true` when the instance has more tables and views than one answer lists (1000)"
  })
}).annotations({ identifier: "Catalog" })
