import { describe, expect, it } from "vitest"
import { refusedQueryType } from "../../src/gate/StatementGate.js"

/** The audit line of a refused statement names what it was (the type its verdict would have had). */
describe("refusedQueryType", () => {
  it.each([
    ["SELECT current_setting('threads')", "SELECT"],
    ["  with x AS (SELECT 1) SELECT * FROM x", "SELECT"],
    ["(SELECT 1)", "SELECT"],
    ["FROM duckdb_settings()", "SELECT"],
    ["DESC t", "DESCRIBE"],
    ["INSERT INTO t VALUES (1)", "INSERT"],
    ["insert into t default values", "INSERT"],
    ["CREATE TABLE t AS SELECT 1", "CREATE TABLE AS"],
    ["CREATE OR REPLACE MACRO m() AS 1", "CREATE MACRO"],
    ["UPDATE t SET a = 1", "UPDATE"],
    ["EXPLAIN ANALYZE DELETE FROM t", "EXPLAIN ANALYZE"],
    ["SET threads = 1", "SET"],
    ["PRAGMA database_list", "PRAGMA"],
    ["ATTACH 'x.duckdb'", "ATTACH"],
    ["COPY t TO 'x.csv'", "COPY"]
  ])("%s is %s", (sql, type) => {
    expect(refusedQueryType(sql)).toBe(type)
  })
})
