/**
 * What the statement gate lets a client name, reviewed against DuckDB 1.5.5 (`duckdb_functions()`,
 * `duckdb_views()` of a fresh instance). The tripwire tests in test/gate/lists.test.ts fail when a DuckDB
 * upgrade adds functions or system views, so that someone decides about them before they ship.
 *
 * Table functions are an allowlist: a table function not named here is refused. Scalar functions are a
 * denylist (there are hundreds of harmless ones), plus system views by name.
 *
 * The postgres, mysql and sqlite extensions were reviewed too (reviewedFunctions.json's
 * `extensionFunctions`, checked with them loaded): every table function they add (`postgres_query`,
 * `postgres_execute`, `mysql_execute`, `postgres_scan`, `sqlite_scan`, `postgres_attach`, …) reaches an
 * upstream or a file on its own and stays off the allowlist; their two scalars (`postgres_hstore_get`,
 * `postgres_hstore_to_json`) only transform a value.
 */

/** Table functions (and `FROM unnest(...)`) a client may call: generators and catalog listings. */
export const allowedTableFunctions: ReadonlySet<string> = new Set([
  // generators
  "range",
  "generate_series",
  "unnest",
  "repeat",
  "repeat_row",
  "json_each",
  "json_tree",
  // catalog listings: names, types and SQL of tables, views, functions; no paths, settings or secrets
  "duckdb_tables",
  "duckdb_columns",
  "duckdb_views",
  "duckdb_schemas",
  "duckdb_types",
  "duckdb_functions",
  "duckdb_constraints",
  "duckdb_indexes",
  "duckdb_sequences",
  "duckdb_dependencies",
  "duckdb_keywords",
  // static reference data
  "pg_timezone_names",
  "icu_calendar_names"
])

/**
 * Scalar, aggregate and macro functions refused anywhere in a statement: they reveal settings or other
 * sessions, run SQL held in a string, change server or connection state, or only sleep.
 */
export const deniedFunctions: ReadonlyMap<string, string> = new Map([
  ["current_setting", "reveals server settings"],
  ["getvariable", "reads session variables"],
  ["getenv", "reads the server environment"],
  ["json_serialize_plan", "plans SQL held in a string"],
  ["json_execute_serialized_sql", "runs SQL held in a string"],
  ["query", "runs SQL held in a string"],
  ["query_table", "reads tables named in a string"],
  ["sleep_ms", "only sleeps"],
  ["pg_sleep", "only sleeps"],
  ["write_log", "writes to the server log"],
  ["setseed", "changes the connection's random seed"],
  ["nextval", "changes a sequence"],
  ["get_block_size", "reads database storage details"],
  ["enable_logging", "changes server logging"],
  ["disable_logging", "changes server logging"],
  ["enable_profiling", "changes server profiling"],
  ["disable_profiling", "changes server profiling"],
  ["enable_peg_parser", "changes the server's SQL parser"],
  ["disable_peg_parser", "changes the server's SQL parser"]
])

/**
 * System views (and `SHOW` forms) refused by name, whatever schema they are qualified with: each exposes
 * attach strings, settings, logs or other sessions' statements. A client table of the same name is refused
 * too; the gate does not consult the catalog.
 */
export const deniedRelations: ReadonlyMap<string, string> = new Map([
  ["duckdb_databases", "reveals attach strings"],
  ["pragma_database_list", "reveals attach strings"],
  ["pg_database", "lists databases through duckdb_databases()"],
  ["duckdb_logs", "reveals other sessions' queries"],
  ["pg_settings", "reveals server settings"],
  ["pg_prepared_statements", "reveals other sessions' statements"]
])

/** `SHOW <name>` forms that list catalog names only. `SHOW VARIABLES` and others are refused. */
export const allowedShowTables: ReadonlySet<string> = new Set([
  '"databases"',
  '"schemas"',
  '"tables"',
  "__show_tables_expanded"
])

/**
 * Parsed expression classes the walk understands. An unknown class (a new DuckDB construct) is refused
 * rather than waved through.
 */
export const knownExpressionClasses: ReadonlySet<string> = new Set([
  "BETWEEN",
  "CASE",
  "CAST",
  "COLLATE",
  "COLUMN_REF",
  "COMPARISON",
  "CONJUNCTION",
  "CONSTANT",
  "DEFAULT",
  "FUNCTION",
  "LAMBDA",
  "LAMBDA_REF",
  "OPERATOR",
  "PARAMETER",
  "POSITIONAL_REFERENCE",
  "STAR",
  "SUBQUERY",
  "WINDOW"
])

export const knownTableRefTypes: ReadonlySet<string> = new Set([
  "BASE_TABLE",
  "TABLE_FUNCTION",
  "SUBQUERY",
  "JOIN",
  "EXPRESSION_LIST",
  "EMPTY",
  "PIVOT",
  "SHOW_REF"
])

export const knownQueryNodeTypes: ReadonlySet<string> = new Set([
  "SELECT_NODE",
  "SET_OPERATION_NODE",
  "RECURSIVE_CTE_NODE",
  "CTE_NODE"
])

/**
 * Name parts that make DuckDB try a replacement scan (read a file) when no table of that name exists:
 * `FROM data.csv` is schema `data`, table `csv`, and DuckDB then reads the file `data.csv`.
 */
export const fileExtensions: ReadonlySet<string> = new Set([
  "csv",
  "tsv",
  "tbl",
  "txt",
  "dat",
  "parquet",
  "json",
  "jsonl",
  "ndjson",
  "geojson",
  "arrow",
  "ipc",
  "feather",
  "avro",
  "orc",
  "xlsx",
  "xls",
  "db",
  "duckdb",
  "ddb",
  "sqlite",
  "sqlite3",
  "wal",
  "gz",
  "gzip",
  "zst",
  "zstd",
  "bz2",
  "xz",
  "lz4",
  "snappy",
  "blob"
])
