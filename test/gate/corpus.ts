/**
 * Hostile SQL and what the gate must answer, under `readOnly: true` and `readOnly: false`. Shared with the
 * HTTP tests: `{{DIR}}` is the watched working directory, `{{ATTACHED}}` the DuckDB file attached READ_ONLY as
 * `att`, `{{ALLOWED_CSV}}` a CSV file that is in allowed_paths (so DuckDB alone would let it be read).
 * Tables: see fixture.ts (`t`, `customers`, `sales`, `wide`, `events`, `att.orders`).
 */

export type Outcome =
  | "ok"
  | "forbidden_statement"
  | "read_only"
  | "invalid_request"
  | "sql_error"
  | "statement_too_large"

export interface CorpusEntry {
  readonly name: string
  readonly sql: string
  /** Expected code with `readOnly: true` (security.read_only, or the shared default instance). */
  readonly readOnly: Outcome
  /** Expected code with `readOnly: false`. */
  readonly readWrite: Outcome
  /** Text the refusal message must contain (names the construct). */
  readonly mentions?: string
  /**
   * The gate lets it through; only `query.timeout`, `memory_limit` and the process's address-space limit
   * stop it. Gate tests never execute these; HTTP tests run them with a timeout and then check the server.
   */
  readonly resourceBomb?: true
}

const F = "forbidden_statement" as const
const RO = "read_only" as const
const BAD = "invalid_request" as const

/** Refused under both policies. */
const never = (name: string, sql: string, mentions?: string): CorpusEntry =>
  mentions === undefined
    ? { name, sql, readOnly: F, readWrite: F }
    : { name, sql, readOnly: F, readWrite: F, mentions }

/** A write: read_only under read-only, refused for what it contains otherwise. */
const write = (name: string, sql: string, mentions?: string): CorpusEntry =>
  mentions === undefined
    ? { name, sql, readOnly: RO, readWrite: F }
    : { name, sql, readOnly: RO, readWrite: F, mentions }

const multi = (name: string, sql: string): CorpusEntry => ({ name, sql, readOnly: BAD, readWrite: BAD })

const bomb = (name: string, sql: string): CorpusEntry => ({
  name,
  sql,
  readOnly: "ok",
  readWrite: "ok",
  resourceBomb: true
})

export const fileReads: ReadonlyArray<CorpusEntry> = [
  never("read_text /etc/passwd", "SELECT * FROM read_text('/etc/passwd')", "read_text"),
  never("read_text of an allowed path", "SELECT content FROM read_text('{{ALLOWED_CSV}}')", "read_text"),
  never("read_blob of the attached file", "SELECT content FROM read_blob('{{ATTACHED}}')", "read_blob"),
  never("read_csv", "SELECT * FROM read_csv('{{ALLOWED_CSV}}')", "read_csv"),
  never("read_csv_auto", "SELECT * FROM read_csv_auto('/etc/passwd')", "read_csv_auto"),
  never("read_json", "SELECT * FROM read_json('{{DIR}}/data.json')", "read_json"),
  never("read_json_auto", "SELECT * FROM read_json_auto('{{DIR}}/data.json')", "read_json_auto"),
  never(
    "read_ndjson_objects",
    "SELECT * FROM read_ndjson_objects('{{DIR}}/data.json')",
    "read_ndjson_objects"
  ),
  never("read_parquet", "SELECT * FROM read_parquet('{{DIR}}/*.parquet')", "read_parquet"),
  never("parquet_scan", "SELECT * FROM parquet_scan('x.parquet')", "parquet_scan"),
  never("parquet_metadata", "SELECT * FROM parquet_metadata('x.parquet')", "parquet_metadata"),
  never(
    "read_duckdb of the attached file",
    "SELECT * FROM read_duckdb('{{ATTACHED}}', table_name => 'orders')",
    "read_duckdb"
  ),
  never("glob /etc", "SELECT * FROM glob('/etc/*')", "glob"),
  never("glob the working directory", "SELECT * FROM glob('{{DIR}}/*')", "glob"),
  never("sniff_csv", "SELECT * FROM sniff_csv('{{ALLOWED_CSV}}')", "sniff_csv"),
  never("replacement scan, absolute path", "SELECT * FROM '/etc/passwd'", "file"),
  never("replacement scan, allowed CSV", "SELECT * FROM '{{ALLOWED_CSV}}'", "file"),
  never("replacement scan, FROM-first", "FROM 'secret.csv'", "file"),
  never("replacement scan, double-quoted", 'SELECT * FROM "secret.csv"', "file"),
  never("replacement scan, unquoted schema.table", "SELECT * FROM secret.csv", "file"),
  never("replacement scan, compressed", "SELECT * FROM data.csv.gz", "file"),
  never("replacement scan of the attached file", "SELECT * FROM 'att.duckdb'", "file"),
  // A CTE named like a file shadows it only where DuckDB binds the CTE (see legitimateCorpus.ts).
  never(
    "file read inside the CTE of the same name (no self-reference without RECURSIVE)",
    'WITH "secret.csv" AS (SELECT * FROM "secret.csv") SELECT * FROM "secret.csv"',
    "file"
  ),
  never(
    "file read in a CTE declared before the one of the same name",
    'WITH b AS (SELECT * FROM "secret.csv"), "secret.csv" AS (SELECT 1 AS a) SELECT * FROM b',
    "file"
  ),
  never(
    "file read beside a subquery whose CTE has its name",
    'SELECT * FROM (WITH "secret.csv" AS (SELECT 1) SELECT 1) s, "secret.csv"',
    "file"
  ),
  never(
    "file read outside the EXISTS whose CTE has its name",
    'SELECT * FROM "secret.csv" WHERE EXISTS (WITH "secret.csv" AS (SELECT 1) SELECT 1)',
    "file"
  ),
  never(
    "qualified file name beside a CTE of that name",
    'WITH "secret.csv" AS (SELECT 1 AS a) SELECT * FROM main."secret.csv"',
    "file"
  ),
  never(
    "system view beside a subquery whose CTE has its name",
    "SELECT * FROM (WITH pg_settings AS (SELECT 1) SELECT 1) s, pg_settings",
    "pg_settings"
  ),
  never("DESCRIBE a file", "DESCRIBE '{{ALLOWED_CSV}}'", "file"),
  never("SUMMARIZE a file", "SUMMARIZE 'secret.csv'", "file"),
  never("SHOW a file", "SHOW 'secret.csv'", "file"),
  never("join with read_text", "SELECT * FROM t, read_text('/etc/passwd')", "read_text"),
  never("scalar subquery", "SELECT (SELECT content FROM read_text('/etc/passwd')) AS leak", "read_text"),
  never(
    "LATERAL",
    "SELECT * FROM range(1) r, LATERAL (SELECT * FROM read_blob('{{ATTACHED}}'))",
    "read_blob"
  ),
  never("CTE", "WITH x AS (SELECT * FROM read_text('/etc/passwd')) SELECT * FROM x", "read_text"),
  never(
    "materialized CTE",
    "WITH x AS MATERIALIZED (SELECT * FROM read_csv('{{ALLOWED_CSV}}')) SELECT * FROM x",
    "read_csv"
  ),
  never(
    "recursive CTE",
    "WITH RECURSIVE r(n, c) AS (SELECT 1, '' UNION ALL SELECT n + 1, (SELECT content FROM read_text('/etc/passwd')) FROM r WHERE n < 2) SELECT * FROM r",
    "read_text"
  ),
  never("UNION", "SELECT 'a' UNION ALL SELECT content FROM read_text('/etc/passwd')", "read_text"),
  never("EXISTS", "SELECT 1 WHERE EXISTS (SELECT * FROM glob('/*'))", "glob"),
  never(
    "IN subquery",
    "SELECT * FROM t WHERE a IN (SELECT content FROM read_text('{{ALLOWED_CSV}}'))",
    "read_text"
  ),
  never(
    "PIVOT over a file",
    "PIVOT (FROM read_csv('{{ALLOWED_CSV}}')) ON secret IN ('s3cr3t') USING count(*)",
    "read_csv"
  ),
  never("VALUES with a subquery", "VALUES ((SELECT content FROM read_text('/etc/passwd')))", "read_text"),
  never(
    "nested subqueries",
    "SELECT * FROM (SELECT * FROM (SELECT * FROM read_text('/etc/passwd')))",
    "read_text"
  ),
  never("qualified table function", "SELECT * FROM system.main.read_text('/etc/passwd')", "read_text"),
  never("quoted upper-case table function", "SELECT * FROM \"READ_TEXT\"('/etc/passwd')", "read_text"),
  never("query()", "SELECT * FROM query('SELECT content FROM read_text(''/etc/passwd'')')", "query"),
  never("query_table()", "SELECT * FROM query_table('t')", "query_table"),
  never(
    "json_execute_serialized_sql",
    "SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT content FROM read_text(''/etc/passwd'')'))",
    "json_execute_serialized_sql"
  ),
  never(
    "json_serialize_plan binds SQL in a string",
    "SELECT json_serialize_plan('SELECT * FROM read_text(''/etc/passwd'')')",
    "json_serialize_plan"
  ),
  never("arrow_scan with raw pointers", "SELECT * FROM arrow_scan(0, 0, 0)", "arrow_scan")
]

export const fileWrites: ReadonlyArray<CorpusEntry> = [
  never("COPY TO", "COPY t TO '{{DIR}}/out.csv'", "COPY"),
  never("COPY query TO parquet", "COPY (SELECT 42) TO '{{DIR}}/out.parquet' (FORMAT parquet)", "COPY"),
  never("COPY TO :memory:", "COPY t TO ':memory:'", "COPY"),
  never("COPY FROM", "COPY t FROM '{{ALLOWED_CSV}}'", "COPY"),
  never("COPY FROM DATABASE", "COPY FROM DATABASE memory TO att", "COPY"),
  never("EXPORT DATABASE", "EXPORT DATABASE '{{DIR}}/export'", "EXPORT"),
  never("IMPORT DATABASE", "IMPORT DATABASE '{{DIR}}'", "IMPORT"),
  write("CTAS over read_text", "CREATE TABLE leak AS SELECT * FROM read_text('/etc/passwd')", "read_text"),
  write("view over read_csv", "CREATE VIEW leak AS SELECT * FROM read_csv('{{ALLOWED_CSV}}')", "read_csv"),
  write(
    "INSERT SELECT from a file",
    "INSERT INTO t SELECT content, 1 FROM read_text('/etc/passwd')",
    "read_text"
  ),
  write(
    "INSERT a setting",
    "INSERT INTO t VALUES (current_setting('secret_directory'), 1)",
    "current_setting"
  ),
  write(
    "DEFAULT reads a setting",
    "CREATE TABLE leak (a VARCHAR DEFAULT current_setting('threads'), b INTEGER)",
    "DEFAULT"
  ),
  write(
    "CHECK calls a function",
    "CREATE TABLE leak (a VARCHAR CHECK (a <> current_setting('memory_limit')))",
    "CHECK"
  ),
  write(
    "generated column",
    "CREATE TABLE leak (a VARCHAR GENERATED ALWAYS AS (current_setting('temp_directory')))",
    "generated"
  ),
  write(
    "generated column, short form",
    "CREATE TABLE leak (a INTEGER, b VARCHAR AS (getvariable('x')))",
    "generated"
  ),
  // DuckDB's own parser refuses calls in type modifiers; the column rule would refuse them too.
  {
    name: "type modifier as a call",
    sql: "CREATE TABLE leak (a DECIMAL(sleep_ms(100000), 2))",
    readOnly: "sql_error",
    readWrite: "sql_error"
  },
  write(
    "COLLATE is fine but DEFAULT is not",
    "CREATE TABLE leak (a VARCHAR COLLATE nocase DEFAULT getvariable('x'))",
    "DEFAULT"
  ),
  write("UPDATE to a setting", "UPDATE t SET a = current_setting('secret_directory')", "current_setting"),
  write("UPDATE from a file", "UPDATE t SET a = (SELECT content FROM read_text('/etc/passwd'))", "read_text"),
  write("UPDATE FROM a file", "UPDATE t SET a = f.content FROM read_text('/etc/passwd') f", "read_text"),
  write(
    "DELETE WHERE a file",
    "DELETE FROM t WHERE a IN (SELECT content FROM read_text('/etc/passwd'))",
    "read_text"
  ),
  write(
    "INSERT ... RETURNING",
    "INSERT INTO t SELECT * FROM t RETURNING current_setting('threads')",
    "RETURNING"
  ),
  write("DELETE ... RETURNING", "DELETE FROM t RETURNING current_setting('threads')", "DELETE supports"),
  write("UPDATE ... RETURNING", "UPDATE t SET b = 0 RETURNING current_setting('threads')", "UPDATE supports"),
  write(
    "ALTER ADD COLUMN DEFAULT",
    "ALTER TABLE t ADD COLUMN leak VARCHAR DEFAULT current_setting('threads')",
    "DEFAULT"
  ),
  write(
    "ALTER column type USING",
    "ALTER TABLE t ALTER COLUMN b TYPE VARCHAR USING current_setting('threads')",
    "ALTER TABLE supports"
  ),
  write(
    "CTAS over duckdb_databases",
    "CREATE TABLE leak AS SELECT * FROM duckdb_databases()",
    "duckdb_databases"
  ),
  write(
    "view over duckdb_settings",
    "CREATE VIEW leak AS SELECT * FROM duckdb_settings()",
    "duckdb_settings"
  ),
  write(
    "view shadowing a catalog view",
    "CREATE VIEW duckdb_tables AS SELECT current_setting('threads') AS x",
    "current_setting"
  ),
  never(
    "view named like a denied view",
    "CREATE OR REPLACE VIEW pg_settings AS SELECT 1 AS x",
    "pg_settings"
  ),
  never("table named like a file", 'CREATE TABLE "x.csv" AS SELECT 1 AS x', "file"),
  never("table renamed like a denied view", "ALTER TABLE t RENAME TO pg_settings", "pg_settings")
]

export const attachAndDetach: ReadonlyArray<CorpusEntry> = [
  never("ATTACH a new file", "ATTACH '{{DIR}}/new.duckdb' AS n", "ATTACH"),
  never("ATTACH the attached file READ_WRITE", "ATTACH '{{ATTACHED}}' AS att2 (READ_WRITE)", "ATTACH"),
  never("ATTACH :memory:", "ATTACH ':memory:' AS m", "ATTACH"),
  never("ATTACH IF NOT EXISTS", "ATTACH IF NOT EXISTS '{{ALLOWED_CSV}}' AS c", "ATTACH"),
  never("DETACH", "DETACH att", "DETACH"),
  never("DETACH then ATTACH READ_WRITE", "DETACH att; ATTACH '{{ATTACHED}}' AS att (READ_WRITE)", "DETACH"),
  never("DETACH DATABASE IF EXISTS", "DETACH DATABASE IF EXISTS att", "DETACH"),
  never("USE", "USE att", "USE"),
  never("USE memory", "USE memory.main", "USE"),
  never("INSERT into the attached database", "INSERT INTO att.orders VALUES (999, 1, 1.0)", "att.orders"),
  never(
    "INSERT fully qualified",
    "INSERT INTO att.main.orders SELECT * FROM att.main.orders",
    "att.main.orders"
  ),
  never("CTAS into the attached database", "CREATE TABLE att.leak AS SELECT 1 AS x", "att.leak"),
  never("UPDATE the attached database", "UPDATE att.orders SET total = 0", "att.orders"),
  never("DELETE from the attached database", "DELETE FROM att.main.orders", "att.main.orders"),
  never("TRUNCATE the attached database", "TRUNCATE att.orders", "att.orders"),
  never("DROP in the attached database", "DROP TABLE att.orders", "att.orders"),
  never("ALTER in the attached database", "ALTER TABLE att.orders RENAME TO gone", "att.orders"),
  never("write through the temp catalog", "CREATE TABLE temp.leak AS SELECT 1 AS x", "temp.leak"),
  never("write into the system catalog", "CREATE TABLE system.main.leak (a INTEGER)", "system.main.leak"),
  never("CREATE TEMP TABLE", "CREATE TEMP TABLE scratch AS SELECT 1 AS x", "TEMP"),
  never("CREATE TEMPORARY VIEW", "CREATE TEMPORARY VIEW v AS SELECT 1 AS x", "TEMP"),
  never("CREATE SCHEMA", "CREATE SCHEMA s", "SCHEMA")
]

export const extensions: ReadonlyArray<CorpusEntry> = [
  never("INSTALL", "INSTALL httpfs", "INSTALL"),
  never("FORCE INSTALL", "FORCE INSTALL httpfs", "FORCE"),
  never("INSTALL FROM a repository", "INSTALL httpfs FROM 'http://127.0.0.1:1/'", "INSTALL"),
  never("LOAD", "LOAD httpfs", "LOAD"),
  never("LOAD a file", "LOAD '{{DIR}}/evil.duckdb_extension'", "LOAD"),
  never("UPDATE EXTENSIONS", "UPDATE EXTENSIONS", "EXTENSIONS"),
  never("duckdb_extensions()", "SELECT * FROM duckdb_extensions()", "duckdb_extensions")
]

export const settingsAndPragmas: ReadonlyArray<CorpusEntry> = [
  never("SET memory_limit", "SET memory_limit = '100GB'", "SET"),
  never("SET GLOBAL threads", "SET GLOBAL threads = 64", "SET"),
  never("SET SESSION", "SET SESSION enable_profiling = 'json'", "SET"),
  never("SET LOCAL", "SET LOCAL search_path = 'att.main'", "SET"),
  never("SET enable_external_access", "SET enable_external_access = true", "SET"),
  never("SET lock_configuration", "SET lock_configuration = false", "SET"),
  never("SET allowed_paths", "SET allowed_paths = ['/']", "SET"),
  never("SET temp_directory", "SET temp_directory = '{{DIR}}'", "SET"),
  never("SET search_path", "SET search_path = 'att.main'", "SET"),
  never("SET schema", "SET schema = 'main'", "SET"),
  never("SET VARIABLE", "SET VARIABLE x = 1", "SET"),
  never("RESET", "RESET memory_limit", "RESET"),
  never("RESET ALL", "RESET ALL", "RESET"),
  never("PRAGMA enable_profiling", "PRAGMA enable_profiling", "PRAGMA"),
  never("PRAGMA profile_output", "PRAGMA profile_output = '{{DIR}}/profile.txt'", "PRAGMA"),
  never("PRAGMA database_list", "PRAGMA database_list", "PRAGMA"),
  never("PRAGMA table_info", "PRAGMA table_info('t')", "PRAGMA"),
  never("PRAGMA show_tables", "PRAGMA show_tables", "PRAGMA"),
  never("PRAGMA memory_limit", "PRAGMA memory_limit = '1GB'", "PRAGMA"),
  never("PRAGMA version", "PRAGMA version", "PRAGMA"),
  never("CALL pragma", "CALL pragma_table_info('t')", "CALL"),
  never("CALL enable_logging", "CALL enable_logging()", "CALL"),
  never("CALL range", "CALL range(3)", "CALL"),
  never("enable_logging()", "SELECT * FROM enable_logging()", "enable_logging"),
  never(
    "enable_logging to a file",
    "SELECT * FROM enable_logging(storage = 'file', storage_path = '{{DIR}}/log')",
    "enable_logging"
  ),
  never("enable_profiling()", "SELECT * FROM enable_profiling()", "enable_profiling"),
  never("disable_peg_parser()", "SELECT * FROM disable_peg_parser()", "disable_peg_parser"),
  never("enable_peg_parser()", "SELECT * FROM enable_peg_parser()", "enable_peg_parser"),
  never("checkpoint()", "SELECT * FROM checkpoint()", "checkpoint"),
  never("force_checkpoint()", "SELECT * FROM force_checkpoint('att')", "force_checkpoint"),
  never("truncate_duckdb_logs()", "SELECT * FROM truncate_duckdb_logs()", "truncate_duckdb_logs"),
  never("pragma_ table functions", "SELECT * FROM pragma_database_size()", "pragma_database_size"),
  never("pragma_platform()", "SELECT * FROM pragma_platform()", "pragma_platform"),
  never("write_log()", "SELECT write_log('forged entry')", "write_log"),
  never("setseed()", "SELECT setseed(0.5)", "setseed"),
  never("nextval()", "SELECT nextval('seq')", "nextval"),
  never("sleep_ms()", "SELECT sleep_ms(60000)", "sleep_ms"),
  never("pg_sleep()", "SELECT pg_sleep(60)", "pg_sleep")
]

export const infoLeaks: ReadonlyArray<CorpusEntry> = [
  never("duckdb_settings()", "SELECT * FROM duckdb_settings()", "duckdb_settings"),
  never("duckdb_settings(), FROM-first", "FROM duckdb_settings() SELECT name, value", "duckdb_settings"),
  never("current_setting()", "SELECT current_setting('memory_limit')", "current_setting"),
  never("current_setting() upper case", "SELECT CURRENT_SETTING('secret_directory')", "current_setting"),
  never("current_setting() quoted", "SELECT \"Current_Setting\"('secret_directory')", "current_setting"),
  never(
    "current_setting() qualified",
    "SELECT system.main.current_setting('home_directory')",
    "current_setting"
  ),
  never("current_setting() as a method", "SELECT ('secret_directory').current_setting()", "current_setting"),
  never(
    "current_setting() as a column method",
    "SELECT s.current_setting() FROM (SELECT 'threads' AS s)",
    "current_setting"
  ),
  never(
    "current_setting() in a lambda",
    "SELECT list_transform(['threads'], x -> current_setting(x))",
    "current_setting"
  ),
  never(
    "current_setting() in a WHERE",
    "SELECT * FROM t WHERE a = current_setting('threads')",
    "current_setting"
  ),
  never(
    "current_setting() in ORDER BY",
    "SELECT * FROM t ORDER BY current_setting('threads')",
    "current_setting"
  ),
  never(
    "current_setting() in a window",
    "SELECT sum(b) OVER (PARTITION BY current_setting('threads')) FROM t",
    "current_setting"
  ),
  never("getvariable()", "SELECT getvariable('x')", "getvariable"),
  never("duckdb_variables()", "SELECT * FROM duckdb_variables()", "duckdb_variables"),
  never("SHOW VARIABLES", "SHOW VARIABLES", "VARIABLES"),
  never("duckdb_databases()", "SELECT path FROM duckdb_databases()", "duckdb_databases"),
  never("duckdb_databases view", "SELECT * FROM duckdb_databases", "duckdb_databases"),
  never("pragma_database_list view", "SELECT * FROM pragma_database_list", "pragma_database_list"),
  never("pg_database", "SELECT * FROM pg_catalog.pg_database", "pg_database"),
  never("pg_settings", "SELECT * FROM pg_settings", "pg_settings"),
  never("pg_settings qualified", "SELECT * FROM system.pg_catalog.pg_settings", "pg_settings"),
  never("pg_settings quoted upper case", 'SELECT * FROM "PG_SETTINGS"', "PG_SETTINGS"),
  never("TABLE duckdb_databases", "TABLE duckdb_databases", "duckdb_databases"),
  never("DESCRIBE a denied view", "DESCRIBE pg_settings", "pg_settings"),
  never("pg_prepared_statements", "SELECT * FROM pg_prepared_statements", "pg_prepared_statements"),
  never(
    "duckdb_prepared_statements()",
    "SELECT * FROM duckdb_prepared_statements()",
    "duckdb_prepared_statements"
  ),
  never("duckdb_secrets()", "SELECT * FROM duckdb_secrets()", "duckdb_secrets"),
  never("duckdb_secrets(redact := false)", "SELECT * FROM duckdb_secrets(redact := false)", "duckdb_secrets"),
  never("which_secret()", "SELECT * FROM which_secret('s3://bucket/x', 's3')", "which_secret"),
  never("duckdb_logs view", "SELECT * FROM duckdb_logs", "duckdb_logs"),
  never("duckdb_logs()", "SELECT * FROM duckdb_logs()", "duckdb_logs"),
  never("duckdb_log_contexts()", "SELECT * FROM duckdb_log_contexts()", "duckdb_log_contexts"),
  never("duckdb_logs_parsed()", "SELECT * FROM duckdb_logs_parsed('QueryLog')", "duckdb_logs_parsed"),
  never(
    "duckdb_profiling_settings()",
    "SELECT * FROM duckdb_profiling_settings()",
    "duckdb_profiling_settings"
  ),
  never("duckdb_temporary_files()", "SELECT * FROM duckdb_temporary_files()", "duckdb_temporary_files"),
  never(
    "duckdb_external_file_cache()",
    "SELECT * FROM duckdb_external_file_cache()",
    "duckdb_external_file_cache"
  ),
  never("duckdb_memory()", "SELECT * FROM duckdb_memory()", "duckdb_memory"),
  never("get_block_size()", "SELECT get_block_size('att')", "get_block_size"),
  never("histogram table macro", "SELECT * FROM histogram('t', b)", "histogram"),
  never("pragma_user_agent()", "SELECT * FROM pragma_user_agent()", "pragma_user_agent"),
  never("test_all_types()", "SELECT * FROM test_all_types()", "test_all_types"),
  never("sql_auto_complete()", "SELECT * FROM sql_auto_complete('SELECT * FROM ')", "sql_auto_complete")
]

export const secrets: ReadonlyArray<CorpusEntry> = [
  never("CREATE SECRET", "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')", "SECRET"),
  never("CREATE PERSISTENT SECRET", "CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')", "SECRET"),
  never("CREATE OR REPLACE TEMP SECRET", "CREATE OR REPLACE TEMPORARY SECRET s (TYPE s3)", "SECRET"),
  never("DROP SECRET", "DROP SECRET s", "SECRET"),
  never("DROP PERSISTENT SECRET", "DROP PERSISTENT SECRET s", "PERSISTENT")
]

export const smuggling: ReadonlyArray<CorpusEntry> = [
  multi("two selects", "SELECT 1; SELECT 2"),
  multi("line comment hides a semicolon", "SELECT 1 -- ;\n; DROP TABLE t"),
  multi("semicolon in a string", "SELECT ';' ; COPY t TO '{{DIR}}/x.csv'"),
  multi("semicolon in a quoted identifier", 'SELECT 1 AS ";" ; DETACH att'),
  multi("doubled quote", "SELECT 'it''s' ; COPY t TO '{{DIR}}/x.csv'"),
  multi("dollar-quoted string", "SELECT $$ ; $$ ; COPY t TO '{{DIR}}/x.csv'"),
  multi("tagged dollar quote", "SELECT $tag$ ; $tag$; ATTACH '{{DIR}}/n.duckdb'"),
  multi("block comment", "SELECT 1 /* ; */ ; SET memory_limit = '1GB'"),
  multi("newline separated", "SELECT 1;\nSELECT 2"),
  multi("leading comment", "/* report */ SELECT 1; ATTACH ':memory:' AS m"),
  multi("SELECT then a write", "SELECT 1; INSERT INTO t VALUES ('q', 9)"),
  never("write first", "COPY t TO '{{DIR}}/x.csv'; SELECT 1", "COPY"),
  {
    name: "INSERT then DROP",
    sql: "INSERT INTO t VALUES ('q', 9); DROP TABLE t",
    readOnly: RO,
    readWrite: BAD
  },
  never(
    "nested comment hides nothing from DuckDB",
    "/* /* */ SELECT 1; */ COPY t TO '{{DIR}}/x.csv'",
    "COPY"
  ),
  never("line comment first", "-- SELECT 1\nCOPY t TO '{{DIR}}/x.csv'", "COPY"),
  multi("empty", ""),
  multi("whitespace", "  \n\t "),
  multi("only a semicolon", ";"),
  multi("only a comment", "-- nothing"),
  multi("PIVOT without IN runs as two statements", "PIVOT t ON a USING sum(b)"),
  multi(
    "NUL byte hides the rest from DuckDB's C API",
    "SELECT 1 AS a \u0000 UNION ALL SELECT current_setting('threads')"
  ),
  {
    name: "EXPLAIN of a string that looks like the end of a comment",
    sql: "EXPLAIN SELECT '*/ EXPLAIN ANALYZE DELETE FROM t; --' AS s",
    readOnly: "ok",
    readWrite: "ok"
  },
  {
    name: "comment inside the EXPLAIN head",
    sql: "EXPLAIN /* */ ANALYZE SELECT count(*) FROM t",
    readOnly: "ok",
    readWrite: "ok"
  }
]

export const explainTricks: ReadonlyArray<CorpusEntry> = [
  never("EXPLAIN ANALYZE DELETE", "EXPLAIN ANALYZE DELETE FROM t", "EXPLAIN ANALYZE"),
  never("EXPLAIN ANALYZE INSERT", "EXPLAIN ANALYZE INSERT INTO t VALUES ('q', 9)", "EXPLAIN ANALYZE"),
  never("EXPLAIN ANALYZE UPDATE", "EXPLAIN (ANALYZE, FORMAT JSON) UPDATE t SET b = 0", "EXPLAIN ANALYZE"),
  never("EXPLAIN ANALYZE CTAS", "EXPLAIN ANALYZE CREATE TABLE leak AS SELECT 1", "EXPLAIN ANALYZE"),
  never("EXPLAIN ANALYZE COPY", "EXPLAIN ANALYZE COPY t TO '{{DIR}}/e.csv'", "EXPLAIN ANALYZE"),
  never("EXPLAIN (ANALYZE) DELETE", "EXPLAIN (ANALYZE) DELETE FROM t", "EXPLAIN ANALYZE"),
  never("EXPLAIN with a comment before ANALYZE", "EXPLAIN /* x */ ANALYZE DELETE FROM t", "EXPLAIN ANALYZE"),
  never(
    "EXPLAIN ANALYZE of a file read",
    "EXPLAIN ANALYZE SELECT * FROM read_text('/etc/passwd')",
    "read_text"
  ),
  never("EXPLAIN of a setting", "EXPLAIN SELECT current_setting('threads')", "current_setting"),
  never("EXPLAIN of SET", "EXPLAIN SET memory_limit = '1GB'", "EXPLAIN"),
  {
    name: "EXPLAIN of ATTACH does not parse",
    sql: "EXPLAIN ATTACH ':memory:' AS m",
    readOnly: "sql_error",
    readWrite: "sql_error"
  },
  never("EXPLAIN with an unknown option", "EXPLAIN (OUTPUT '{{DIR}}/p') SELECT 1", "EXPLAIN")
]

export const macroHijacks: ReadonlyArray<CorpusEntry> = [
  never("CREATE MACRO", "CREATE MACRO leak() AS current_setting('threads')", "MACRO"),
  never(
    "CREATE OR REPLACE MACRO range",
    "CREATE OR REPLACE MACRO range(x) AS TABLE SELECT * FROM read_text('/etc/passwd')",
    "MACRO"
  ),
  never("table macro over a denied function", "CREATE MACRO reader(p) AS TABLE FROM read_text(p)", "MACRO"),
  never("CREATE FUNCTION", "CREATE FUNCTION f() AS 1", "FUNCTION"),
  never("CREATE TEMP MACRO", "CREATE TEMP MACRO upper(x) AS current_setting('threads')", "MACRO"),
  never("DROP MACRO", "DROP MACRO upper", "MACRO"),
  never("CREATE TYPE", "CREATE TYPE mood AS ENUM ('a', 'b')", "TYPE"),
  never("CREATE SEQUENCE", "CREATE SEQUENCE seq", "SEQUENCE"),
  never("CREATE INDEX", "CREATE INDEX i ON t (b)", "INDEX"),
  never("COMMENT ON", "COMMENT ON TABLE t IS 'x'", "COMMENT"),
  never("MERGE", "MERGE INTO t USING (SELECT 'x' AS a) s ON t.a = s.a WHEN MATCHED THEN DELETE", "MERGE")
]

export const preparedAndTransactions: ReadonlyArray<CorpusEntry> = [
  never("PREPARE", "PREPARE p AS SELECT * FROM read_text('/etc/passwd')", "PREPARE"),
  never("PREPARE harmless", "PREPARE p AS SELECT 1", "PREPARE"),
  never("EXECUTE", "EXECUTE p", "EXECUTE"),
  never("DEALLOCATE", "DEALLOCATE p", "DEALLOCATE"),
  never("BEGIN", "BEGIN", "BEGIN"),
  never("BEGIN TRANSACTION", "BEGIN TRANSACTION", "BEGIN"),
  never("START TRANSACTION", "START TRANSACTION", "START"),
  never("COMMIT", "COMMIT", "COMMIT"),
  never("ROLLBACK", "ROLLBACK", "ROLLBACK"),
  never("ABORT", "ABORT", "ABORT"),
  never("CHECKPOINT", "CHECKPOINT", "CHECKPOINT"),
  never("FORCE CHECKPOINT", "FORCE CHECKPOINT att", "FORCE"),
  never("VACUUM", "VACUUM", "VACUUM"),
  never("VACUUM ANALYZE", "VACUUM ANALYZE t", "VACUUM"),
  never("ANALYZE", "ANALYZE", "ANALYZE"),
  never("ANALYZE a table", "ANALYZE t", "ANALYZE")
]

export const resourceBombs: ReadonlyArray<CorpusEntry> = [
  bomb(
    "recursive CTE without end",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
  ),
  bomb("cross join of huge ranges", "SELECT count(*) FROM range(1000000000000) a, range(1000000000000) b"),
  bomb("long aggregate", "SELECT sum(x) FROM range(1000000000000) t(x)"),
  bomb("huge string", "SELECT length(repeat('x', 2000000000))"),
  bomb("huge list", "SELECT len(range(0, 3000000000))"),
  bomb("huge string_agg", "SELECT length(string_agg(repeat('x', 1000000), '')) FROM range(100000)"),
  bomb("huge result", "SELECT * FROM range(10000000000)"),
  bomb("huge sort", "SELECT * FROM range(1000000000) t(x) ORDER BY random()")
]

/** A chain of CTEs, each naming the previous one twice: DuckDB inlines 2^links UNION branches. */
const cteChain = (links: number, marker: string) => {
  const ctes = ["c0 AS (SELECT 1 AS x)"]
  for (let k = 1; k <= links; k++)
    ctes.push(`c${k} AS ${marker}(SELECT x FROM c${k - 1} UNION ALL SELECT x FROM c${k - 1})`)
  return `WITH ${ctes.join(", ")} SELECT count(*) FROM c${links}`
}

const TOO_LARGE = "statement_too_large" as const
const tooLarge = (name: string, sql: string): CorpusEntry => ({
  name,
  sql,
  readOnly: TOO_LARGE,
  readWrite: TOO_LARGE
})

/** Statements whose binding alone would take the process's memory: refused before DuckDB binds them. */
export const planBombs: ReadonlyArray<CorpusEntry> = [
  tooLarge("22 NOT MATERIALIZED CTEs, each naming the previous twice", cteChain(22, "NOT MATERIALIZED ")),
  tooLarge("the same chain without NOT MATERIALIZED", cteChain(22, "")),
  tooLarge(
    "a CTE named thousands of times",
    `WITH c AS (SELECT * FROM range(10) t(x) WHERE x IN (${Array.from({ length: 200 }, (_, i) => i).join(
      ","
    )})) SELECT ${Array.from({ length: 2_000 }, (_, i) => `(SELECT count(*) FROM c) AS n${i}`).join(", ")}`
  ),
  {
    ...tooLarge(
      "a chain inside CREATE TABLE AS",
      `CREATE TABLE boom AS ${cteChain(22, "NOT MATERIALIZED ")}`
    ),
    readOnly: RO
  },
  tooLarge(
    "an IN list of 30,000 literals (its parse tree alone is over 4 MB)",
    `SELECT 1 IN (${Array.from({ length: 30_000 }, () => 0).join(",")})`
  )
]

/** Every hostile entry, by group. */
export const adversarialCorpus: ReadonlyArray<CorpusEntry> = [
  ...fileReads,
  ...fileWrites,
  ...attachAndDetach,
  ...extensions,
  ...settingsAndPragmas,
  ...infoLeaks,
  ...secrets,
  ...smuggling,
  ...explainTricks,
  ...macroHijacks,
  ...preparedAndTransactions,
  ...planBombs,
  ...resourceBombs
]
