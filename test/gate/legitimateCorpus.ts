/**
 * Analytics that must keep working through the gate, under both policies, on the fixture's tables
 * (fixture.ts). `rows`, when given, is the exact result (JSON rows as DuckDB's `getRowsJson()` gives them);
 * otherwise `minRows` rows at least. Shared with the HTTP tests.
 */

export interface LegitimateEntry {
  readonly name: string
  readonly sql: string
  readonly params?: ReadonlyArray<number | string>
  readonly rows?: ReadonlyArray<ReadonlyArray<unknown>>
  readonly minRows?: number
  /** The verdict's queryType. */
  readonly queryType?: string
}

export const legitimateCorpus: ReadonlyArray<LegitimateEntry> = [
  { name: "constant", sql: "SELECT 42 AS answer", rows: [[42]] },
  { name: "version", sql: "SELECT version() LIKE 'v%' AS ok", rows: [[true]] },
  { name: "catalog names", sql: "SELECT current_database(), current_schema()", rows: [["memory", "main"]] },
  { name: "leading comment and semicolon", sql: "-- daily report\nSELECT 1 AS one;", rows: [[1]] },
  { name: "block comment", sql: "/* report */ SELECT 1 /* one */ AS one", rows: [[1]] },
  { name: "semicolon inside a string", sql: "SELECT 'a;b' AS s", rows: [["a;b"]] },
  { name: "dollar-quoted string", sql: "SELECT $$it's; fine$$ AS s", rows: [["it's; fine"]] },
  { name: "parameters", sql: "SELECT $1::INTEGER + 1 AS n, $2 AS s", params: [41, "x"], rows: [[42, "x"]] },
  {
    name: "join and aggregate",
    sql: `SELECT c.name, count(*) AS n, sum(s.amount) AS total
          FROM customers c JOIN sales s ON s.customer_id = c.id GROUP BY ALL ORDER BY c.name`,
    minRows: 4
  },
  {
    name: "join with the attached database",
    sql: "SELECT c.name, round(sum(o.total), 1) FROM att.main.orders o JOIN customers c ON c.id = o.customer_id GROUP BY ALL ORDER BY 1",
    minRows: 4
  },
  { name: "attached view", sql: "SELECT count(*) FROM att.v_orders", rows: [["4"]] },
  { name: "server-made view", sql: "SELECT count(*) > 0 FROM big_sales", rows: [[true]] },
  {
    name: "LEFT JOIN USING",
    sql: "SELECT * FROM customers LEFT JOIN (SELECT customer_id AS id, 1 AS x FROM sales) USING (id) LIMIT 3",
    minRows: 3
  },
  {
    name: "ASOF join",
    sql: "SELECT count(*) FROM sales s ASOF JOIN customers c ON s.customer_id = c.id AND s.sold_at >= c.signup",
    minRows: 1
  },
  {
    name: "window functions",
    sql: `SELECT region, year, amount,
            row_number() OVER (PARTITION BY region ORDER BY amount DESC) AS rank,
            sum(amount) OVER (PARTITION BY region ORDER BY sold_at ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS rolling,
            lag(amount) OVER w AS previous
          FROM sales WINDOW w AS (PARTITION BY region ORDER BY sold_at) QUALIFY rank <= 3 ORDER BY region, rank`,
    minRows: 6
  },
  {
    name: "CTE",
    sql: "WITH totals AS (SELECT region, sum(amount) AS total FROM sales GROUP BY region) SELECT region FROM totals ORDER BY total DESC LIMIT 1",
    minRows: 1
  },
  // A CTE binds before any table, file or system view of the same name (DuckDB compares names without case).
  {
    name: "CTE named like a file",
    sql: 'WITH "x.csv" AS (SELECT 1 AS a) SELECT * FROM "x.csv"',
    rows: [[1]]
  },
  {
    name: "CTE named like a file, other case, used in a later CTE, a subquery and both UNION sides",
    sql: `WITH "Data.CSV" AS (SELECT 1 AS a), b AS (SELECT a FROM "data.csv")
          SELECT (SELECT a FROM "DATA.csv") FROM b UNION ALL SELECT a FROM "data.csv"`,
    rows: [[1], [1]]
  },
  {
    name: "CTE named like a refused system view",
    sql: "WITH pg_settings AS (SELECT 1 AS a) SELECT a FROM pg_settings",
    rows: [[1]]
  },
  {
    name: "recursive CTE with a bound",
    sql: "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 100) SELECT sum(n) FROM r",
    rows: [["5050"]]
  },
  {
    name: "PIVOT ... IN",
    sql: "PIVOT sales ON region IN ('north', 'south') USING sum(amount) GROUP BY year ORDER BY year",
    minRows: 2,
    queryType: "PIVOT"
  },
  {
    name: "PIVOT ... IN a subquery",
    sql: "SELECT * FROM (PIVOT sales ON year IN (2023, 2024) USING count(*) GROUP BY region) ORDER BY region",
    minRows: 2
  },
  {
    name: "SQL-standard PIVOT",
    sql: "SELECT * FROM sales PIVOT (sum(amount) FOR region IN ('north', 'south') GROUP BY year) ORDER BY year",
    minRows: 2
  },
  {
    name: "UNPIVOT",
    sql: "UNPIVOT wide ON q1, q2, q3 INTO NAME quarter VALUE amount ORDER BY product, quarter",
    minRows: 6,
    queryType: "UNPIVOT"
  },
  {
    name: "UNPIVOT COLUMNS",
    sql: "UNPIVOT wide ON COLUMNS(* EXCLUDE (product)) INTO NAME q VALUE v",
    minRows: 6
  },
  { name: "SUMMARIZE a table", sql: "SUMMARIZE sales", minRows: 6, queryType: "SUMMARIZE" },
  { name: "SUMMARIZE a query", sql: "SUMMARIZE SELECT region, amount FROM sales", minRows: 2 },
  { name: "DESCRIBE a table", sql: "DESCRIBE sales", minRows: 6, queryType: "DESCRIBE" },
  { name: "DESCRIBE an attached table", sql: "DESCRIBE att.orders", minRows: 3 },
  { name: "DESCRIBE a query", sql: "DESCRIBE SELECT 1 AS x, 'a' AS y", minRows: 2 },
  { name: "SHOW a table", sql: "SHOW customers", minRows: 4 },
  { name: "SHOW TABLES", sql: "SHOW TABLES", minRows: 5, queryType: "SHOW" },
  { name: "SHOW ALL TABLES", sql: "SHOW ALL TABLES", minRows: 6 },
  { name: "SHOW TABLES FROM the attached database", sql: "SHOW TABLES FROM att", minRows: 1 },
  { name: "SHOW DATABASES", sql: "SHOW DATABASES", minRows: 2 },
  { name: "SHOW SCHEMAS", sql: "SHOW SCHEMAS", minRows: 2 },
  {
    name: "EXPLAIN",
    sql: "EXPLAIN SELECT region, sum(amount) FROM sales GROUP BY region",
    minRows: 1,
    queryType: "EXPLAIN"
  },
  {
    name: "EXPLAIN ANALYZE of a SELECT",
    sql: "EXPLAIN ANALYZE SELECT count(*) FROM sales JOIN customers ON customers.id = sales.customer_id",
    minRows: 1,
    queryType: "EXPLAIN ANALYZE"
  },
  { name: "EXPLAIN (FORMAT JSON)", sql: "EXPLAIN (FORMAT JSON) SELECT * FROM t", minRows: 1 },
  {
    name: "EXPLAIN (ANALYZE, FORMAT JSON)",
    sql: "EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM t",
    minRows: 1
  },
  { name: "EXPLAIN of a DESCRIBE", sql: "EXPLAIN DESCRIBE t", minRows: 1 },
  {
    name: "information_schema.tables",
    sql: "SELECT table_catalog, table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY ALL",
    minRows: 6
  },
  {
    name: "information_schema.columns",
    sql: "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'sales' ORDER BY ordinal_position",
    minRows: 6
  },
  {
    name: "information_schema.schemata",
    sql: "SELECT catalog_name, schema_name FROM information_schema.schemata",
    minRows: 2
  },
  { name: "pg_catalog.pg_tables", sql: "SELECT tablename FROM pg_catalog.pg_tables ORDER BY 1", minRows: 5 },
  {
    name: "pg_class and pg_namespace",
    sql: "SELECT relname FROM pg_class JOIN pg_namespace n ON n.oid = relnamespace",
    minRows: 1
  },
  { name: "sqlite_master", sql: "SELECT name FROM sqlite_master WHERE type = 'table'", minRows: 5 },
  {
    name: "duckdb_tables()",
    sql: "SELECT database_name, table_name FROM duckdb_tables() ORDER BY ALL",
    minRows: 6
  },
  { name: "duckdb_columns view", sql: "SELECT count(*) > 10 FROM duckdb_columns", rows: [[true]] },
  { name: "duckdb_views()", sql: "SELECT view_name FROM duckdb_views() WHERE NOT internal", minRows: 2 },
  { name: "duckdb_functions()", sql: "SELECT count(*) > 100 FROM duckdb_functions()", rows: [[true]] },
  { name: "duckdb_types()", sql: "SELECT count(*) > 10 FROM duckdb_types()", rows: [[true]] },
  {
    name: "json functions",
    sql: `SELECT payload->>'$.user.name' AS name, json_extract(payload, '$.n')::INTEGER AS n,
            json_array_length(payload->'$.user.roles') AS roles, json_structure(payload) IS NOT NULL
          FROM events ORDER BY id`,
    rows: [
      ["ada", 3, "2", true],
      ["bob", 5, "0", true]
    ]
  },
  {
    name: "json_each",
    sql: "SELECT j.key, j.value FROM events e, json_each(e.payload) j WHERE e.id = 1 ORDER BY j.key",
    minRows: 2
  },
  {
    name: "json_tree",
    sql: 'SELECT count(*) > 3 FROM json_tree(\'{"a": [1, 2, {"b": 3}]}\')',
    rows: [[true]]
  },
  {
    name: "to_json and json_group_array",
    sql: "SELECT json_group_array(to_json({'a': b})) FROM t",
    minRows: 1
  },
  {
    name: "list lambdas",
    sql: `SELECT list_transform([1, 2, 3], x -> x * 10), list_filter([1, 2, 3], x -> x > 1),
            list_reduce([1, 2, 3], (a, b) -> a + b), [x + 1 FOR x IN [1, 2] IF x > 1]`,
    rows: [[[10, 20, 30], [2, 3], 6, [3]]]
  },
  {
    name: "regexp",
    sql: "SELECT regexp_matches('abc123', '[0-9]+'), regexp_replace('a-b-c', '-', '+', 'g'), regexp_extract('key=val', '(\\w+)=(\\w+)', 2)",
    rows: [[true, "a+b+c", "val"]]
  },
  { name: "string_agg", sql: "SELECT string_agg(a, ',' ORDER BY a DESC) FROM t", rows: [["z,y,x"]] },
  { name: "histogram aggregate (not the table macro)", sql: "SELECT histogram(b) FROM t", minRows: 1 },
  {
    name: "date functions",
    sql: `SELECT date_trunc('month', DATE '2024-02-29'), strftime(DATE '2024-02-29', '%Y/%m/%d'),
            date_diff('day', DATE '2024-01-01', DATE '2024-03-01'), make_date(2024, 2, 29), last_day(DATE '2024-02-01')`,
    rows: [["2024-02-01 00:00:00", "2024/02/29", "60", "2024-02-29", "2024-02-29"]]
  },
  {
    name: "time buckets",
    sql: "SELECT time_bucket(INTERVAL '1 month', sold_at) AS m, count(*) FROM sales GROUP BY m ORDER BY m LIMIT 3",
    minRows: 3
  },
  {
    name: "generate_series of dates",
    sql: "SELECT count(*) FROM generate_series(DATE '2024-01-01', DATE '2024-12-31', INTERVAL 1 DAY)",
    rows: [["366"]]
  },
  { name: "range", sql: "SELECT sum(range) FROM range(10)", rows: [["45"]] },
  { name: "unnest", sql: "SELECT unnest([1, 2, 3]) AS x", rows: [[1], [2], [3]] },
  { name: "unnest in FROM", sql: "SELECT * FROM unnest(['a', 'b']) AS u(x)", rows: [["a"], ["b"]] },
  { name: "FROM-first", sql: "FROM sales SELECT region, count(*) GROUP BY ALL ORDER BY ALL", minRows: 2 },
  { name: "TABLE", sql: "TABLE t", minRows: 3 },
  {
    name: "VALUES",
    sql: "VALUES (1, 'a'), (2, 'b')",
    rows: [
      [1, "a"],
      [2, "b"]
    ]
  },
  {
    name: "GROUPING SETS",
    sql: "SELECT region, year, count(*) FROM sales GROUP BY ROLLUP (region, year) ORDER BY ALL",
    minRows: 5
  },
  { name: "UNION BY NAME", sql: "SELECT 1 AS a, 2 AS b UNION ALL BY NAME SELECT 3 AS b, 4 AS a", minRows: 2 },
  {
    name: "EXCLUDE and REPLACE",
    sql: "SELECT * EXCLUDE (sold_at) REPLACE (amount * 2 AS amount) FROM sales LIMIT 2",
    minRows: 2
  },
  { name: "COLUMNS", sql: "SELECT max(COLUMNS('q[0-9]')) FROM wide", rows: [[4, 5, 6]] },
  { name: "sample", sql: "SELECT count(*) FROM sales USING SAMPLE 10 ROWS", rows: [["10"]] },
  { name: "struct and map", sql: "SELECT {'a': 1}.a, map {'k': 2}['k']", rows: [[1, 2]] },
  {
    name: "CASE and COALESCE",
    sql: "SELECT CASE WHEN b > 1 THEN 'big' ELSE 'small' END, coalesce(NULL, a) FROM t ORDER BY b",
    minRows: 3
  },
  {
    name: "LIKE and ILIKE",
    sql: "SELECT count(*) FROM customers WHERE name ILIKE '%a%' OR name LIKE 'L%'",
    minRows: 1
  },
  {
    name: "list column",
    sql: "SELECT id, len(tags), tags[1] FROM events ORDER BY id",
    rows: [
      [1, "2", "a"],
      [2, "1", "c"]
    ]
  },
  {
    name: "json_serialize_sql is parse-only",
    sql: "SELECT json_serialize_sql('SELECT 1') LIKE '%SELECT_NODE%'",
    rows: [[true]]
  },
  { name: "typeof", sql: "SELECT typeof(1)", rows: [["INTEGER"]] }
]

/**
 * DDL/DML on the instance's own memory catalog: allowed with `readOnly: false` (run in this order), refused
 * with `read_only` under `readOnly: true`.
 */
export interface WriteEntry {
  readonly name: string
  readonly sql: string
  readonly params?: ReadonlyArray<number | string>
  readonly queryType: string
}

export const writeCorpus: ReadonlyArray<WriteEntry> = [
  {
    name: "CREATE TABLE with columns",
    sql: `CREATE TABLE scratch (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, score DECIMAL(10, 2),
            tags VARCHAR[], meta STRUCT(k VARCHAR, v INTEGER))`,
    queryType: "CREATE TABLE"
  },
  {
    name: "CREATE TABLE with quoted names",
    sql: 'CREATE TABLE IF NOT EXISTS main.scratch2 ("Quoted Col" INTEGER UNIQUE, "x""y" VARCHAR(20), m MAP(VARCHAR, INTEGER), UNIQUE ("x""y"))',
    queryType: "CREATE TABLE"
  },
  {
    name: "INSERT VALUES",
    sql: "INSERT INTO scratch VALUES (1, 'a', 1.5, ['x'], {'k': 'a', 'v': 1}), (2, 'b', 2.5, [], NULL)",
    queryType: "INSERT"
  },
  {
    name: "INSERT with columns and SELECT",
    sql: "INSERT INTO scratch (id, name) SELECT 10 + i, 'gen' || i FROM range(3) t(i)",
    queryType: "INSERT"
  },
  {
    name: "INSERT BY NAME",
    sql: "INSERT INTO scratch BY NAME SELECT 20 AS id, 'byname' AS name",
    queryType: "INSERT"
  },
  {
    name: "INSERT OR REPLACE",
    sql: "INSERT OR REPLACE INTO scratch (id, name) VALUES (1, 'a2')",
    queryType: "INSERT"
  },
  {
    name: "INSERT a parenthesised query",
    sql: "INSERT INTO memory.main.scratch (SELECT 30, 'paren', NULL, NULL, NULL)",
    queryType: "INSERT"
  },
  {
    name: "INSERT with comments",
    sql: "-- load\nINSERT INTO scratch (id, name) /* inline */ VALUES (99, 'c');",
    queryType: "INSERT"
  },
  {
    name: "INSERT with parameters",
    sql: "INSERT INTO scratch (id, name) VALUES ($1, $2)",
    params: [100, "param"],
    queryType: "INSERT"
  },
  {
    name: "INSERT from the attached database",
    sql: "INSERT INTO scratch (id, name) SELECT 1000 + id, 'order' FROM att.orders",
    queryType: "INSERT"
  },
  {
    name: "UPDATE",
    sql: "UPDATE scratch SET score = coalesce(score, 0) * 2 WHERE id = 2",
    queryType: "UPDATE"
  },
  {
    name: "UPDATE with alias and FROM",
    sql: "UPDATE scratch AS s SET name = upper(s.name) FROM (SELECT 10 AS id) x WHERE s.id = x.id",
    queryType: "UPDATE"
  },
  {
    name: "UPDATE several columns",
    sql: "UPDATE scratch SET name = name || '!', score = 1 WHERE id IN (SELECT 11)",
    queryType: "UPDATE"
  },
  { name: "DELETE WHERE", sql: "DELETE FROM scratch WHERE id = 11", queryType: "DELETE" },
  { name: "DELETE with alias", sql: "DELETE FROM scratch s WHERE s.id > 1000", queryType: "DELETE" },
  {
    name: "CTAS",
    sql: "CREATE TABLE summary AS SELECT region, sum(amount) AS total FROM sales GROUP BY region",
    queryType: "CREATE TABLE AS"
  },
  {
    name: "CREATE OR REPLACE TABLE AS",
    sql: "CREATE OR REPLACE TABLE main.summary AS SELECT * FROM att.v_orders",
    queryType: "CREATE TABLE AS"
  },
  {
    name: "CREATE VIEW",
    sql: "CREATE VIEW v_big AS SELECT * FROM sales WHERE amount > 100",
    queryType: "CREATE VIEW"
  },
  {
    name: "CREATE VIEW with columns",
    sql: "CREATE VIEW IF NOT EXISTS memory.main.v_cols (c, t) AS SELECT customer_id, total FROM summary",
    queryType: "CREATE VIEW"
  },
  {
    name: "ALTER TABLE ADD COLUMN",
    sql: "ALTER TABLE scratch ADD COLUMN note VARCHAR",
    queryType: "ALTER TABLE"
  },
  {
    name: "ALTER TABLE RENAME COLUMN",
    sql: "ALTER TABLE scratch RENAME COLUMN note TO remark",
    queryType: "ALTER TABLE"
  },
  {
    name: "ALTER TABLE DROP COLUMN",
    sql: "ALTER TABLE scratch DROP COLUMN IF EXISTS remark",
    queryType: "ALTER TABLE"
  },
  { name: "ALTER TABLE RENAME TO", sql: "ALTER TABLE scratch2 RENAME TO scratch3", queryType: "ALTER TABLE" },
  { name: "DROP VIEW", sql: "DROP VIEW v_cols", queryType: "DROP VIEW" },
  { name: "TRUNCATE", sql: "TRUNCATE TABLE scratch3", queryType: "TRUNCATE" },
  { name: "DELETE everything", sql: "DELETE FROM scratch", queryType: "DELETE" },
  {
    name: "DROP TABLE IF EXISTS CASCADE",
    sql: "DROP TABLE IF EXISTS scratch3 CASCADE",
    queryType: "DROP TABLE"
  }
]

/** Reads run after `writeCorpus`, with the rows they must see. */
export const readsAfterWrites: ReadonlyArray<LegitimateEntry> = [
  { name: "the created view", sql: "SELECT count(*) > 0 FROM v_big", rows: [[true]] },
  { name: "the CTAS table", sql: "SELECT count(*) FROM summary", rows: [["4"]] },
  { name: "the emptied table", sql: "SELECT count(*) FROM scratch", rows: [["0"]] }
]
