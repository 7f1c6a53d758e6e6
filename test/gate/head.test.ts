import { StatementType } from "@duckdb/node-api"
import { describe, expect, it } from "@effect/vitest"
import { type Head, recognizeHead } from "../../src/gate/SqlHead.js"
import { SqlLexer } from "../../src/gate/SqlLexer.js"
import { checkRelationName } from "../../src/gate/SqlTree.js"

const tokens = (sql: string) => {
  const lexer = new SqlLexer(sql)
  const out: Array<string> = []
  for (let token = lexer.next(); token.kind !== "end"; token = lexer.next())
    out.push(`${token.kind}:${token.text}`)
  return out
}

const shapeOf = (head: Head) => {
  if ((head._tag === "Write" || head._tag === "Explain") && typeof head.shape !== "string") return head.shape
  throw new Error(`no shape: ${JSON.stringify(head)}`)
}

describe("SqlLexer", () => {
  it("skips line comments, nested block comments and whitespace like PostgreSQL's scanner", () => {
    expect(tokens("-- x\r\nSELECT /* a /* b */ c */ 1")).toEqual(["word:SELECT", "int:1"])
    expect(tokens("/**/COPY")).toEqual(["word:COPY"])
    expect(tokens("/*/ */x")).toEqual(["word:x"])
  })

  it("reads quoted identifiers with doubled quotes", () => {
    const lexer = new SqlLexer('"a""b" "" x')
    expect(lexer.next()).toMatchObject({ kind: "qident", name: 'a"b' })
    expect(lexer.next().kind).toBe("other")
  })

  it("turns what heads never contain into `other`", () => {
    expect(tokens("'s' 1.5 1e3 café + /* open")).toEqual([
      "other:'",
      "word:s",
      "other:'",
      "other:1",
      "punct:.",
      "int:5",
      "other:1",
      "word:e3",
      "other:caf",
      "other:é",
      "other:+",
      "other:/*"
    ])
  })
})

describe("recognizeHead", () => {
  it("refuses the statements the sandbox never allows, naming them", () => {
    for (const [sql, construct] of [
      ["SET memory_limit = '1GB'", "SET"],
      ["  -- c\n attach 'x' as y", "ATTACH"],
      ["/* /* */ SELECT 1; */ COPY t TO 'x'", "COPY"],
      ["CREATE OR REPLACE PERSISTENT SECRET s (TYPE s3)", "CREATE SECRET"],
      ["CREATE TEMP TABLE x (a INT)", "CREATE TEMP TABLE"],
      ["CREATE MACRO m() AS 1", "CREATE MACRO"],
      ["DROP SECRET s", "DROP SECRET"],
      ["ALTER VIEW v RENAME TO w", "ALTER VIEW"],
      ["UPDATE EXTENSIONS", "UPDATE EXTENSIONS"]
    ] as const) {
      const head = recognizeHead(sql)
      expect(head._tag).toBe("Forbidden")
      expect(head._tag === "Forbidden" && head.message.startsWith(construct)).toBe(true)
    }
  })

  it("refuses writes outside the instance's own catalog whatever the policy", () => {
    for (const sql of [
      "INSERT INTO att.orders VALUES (1)",
      "CREATE TABLE temp.x AS SELECT 1",
      "DELETE FROM att.main.orders",
      'DROP TABLE "att"."orders"',
      "CREATE TABLE memory.other.x (a INT)",
      "UPDATE a.b.c.d SET x = 1"
    ]) {
      expect(recognizeHead(sql)._tag, sql).toBe("Forbidden")
    }
    for (const sql of [
      "INSERT INTO t VALUES (1)",
      "INSERT INTO main.t VALUES (1)",
      "INSERT INTO memory.t VALUES (1)",
      'INSERT INTO "MEMORY"."Main".t VALUES (1)'
    ]) {
      expect(recognizeHead(sql)._tag, sql).toBe("Write")
    }
  })

  it("rebuilds heads from tokens and hands the rest over untouched", () => {
    const insert = shapeOf(recognizeHead('insert /* c */ into t (a, "B") -- x\n SELECT 1, 2'))
    expect(insert).toMatchObject({
      construct: "INSERT",
      statementType: StatementType.INSERT,
      head: 'insert into t ( a , "B" )'
    })
    expect(insert.remainder).toEqual({ kind: "query", text: " -- x\n SELECT 1, 2" })

    const explain = shapeOf(recognizeHead("EXPLAIN (ANALYZE, FORMAT json) SELECT 1"))
    expect(explain).toMatchObject({
      construct: "EXPLAIN ANALYZE",
      statementType: StatementType.EXPLAIN,
      head: "EXPLAIN ( ANALYZE , FORMAT json )"
    })

    const update = shapeOf(recognizeHead("UPDATE t AS x SET a = 1 WHERE x.b = 2"))
    expect(update).toMatchObject({
      head: "UPDATE t AS x SET",
      remainder: { kind: "assignments", text: " a = 1 WHERE x.b = 2" }
    })

    const del = shapeOf(recognizeHead("DELETE FROM t x WHERE x.a = 1"))
    expect(del).toMatchObject({
      head: "DELETE FROM t x",
      remainder: { kind: "where", text: "WHERE x.a = 1", probe: "SELECT 1 FROM t x" }
    })

    expect(shapeOf(recognizeHead("DELETE FROM t;")).remainder).toEqual({ kind: "none" })
    expect(shapeOf(recognizeHead("TRUNCATE TABLE t")).statementType).toBe(StatementType.DELETE)
  })

  it("reads `INSERT INTO t (SELECT ...)` as a query, not a column list", () => {
    const shape = shapeOf(recognizeHead("INSERT INTO t (SELECT 1)"))
    expect(shape.head).toBe("INSERT INTO t")
    expect(shape.remainder).toEqual({ kind: "query", text: " (SELECT 1)" })
  })

  it("accepts column definitions without expressions only", () => {
    expect(
      shapeOf(recognizeHead("CREATE TABLE x (a DECIMAL(18, 3) NOT NULL, b STRUCT(c INT)[], PRIMARY KEY (a))"))
        .head
    ).toBe("CREATE TABLE x ( a DECIMAL ( 18 , 3 ) NOT NULL , b STRUCT ( c INT ) [ ] , PRIMARY KEY ( a ) )")
    for (const sql of [
      "CREATE TABLE x (a INT DEFAULT 1)",
      "CREATE TABLE x (a INT CHECK (a > 0))",
      "CREATE TABLE x (a INT, b INT AS (a + 1))",
      "CREATE TABLE x (a VARCHAR(f(1)))",
      "CREATE TABLE x (a INT REFERENCES y (a))",
      "CREATE TABLE x (a ENUM('p', 'q'))",
      "CREATE TABLE x (a INT",
      "ALTER TABLE x ADD COLUMN b INT DEFAULT 0"
    ]) {
      const head = recognizeHead(sql)
      expect(head._tag === "Write" && typeof head.shape === "string", sql).toBe(true)
    }
  })

  it("says which form is supported when a write leaves the grammar", () => {
    const head = recognizeHead("DELETE FROM t USING u WHERE t.a = u.a")
    expect(head).toEqual({
      _tag: "Write",
      construct: "DELETE",
      shape: "DELETE supports DELETE FROM table [WHERE condition]"
    })
    expect(recognizeHead("CREATE TABLE x (a INT DEFAULT 1)")).toMatchObject({ construct: "CREATE TABLE" })
  })

  it("leaves unknown statements to the caller", () => {
    expect(recognizeHead("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x")).toEqual({
      _tag: "Other",
      construct: "WITH"
    })
    expect(recognizeHead("(SELECT 1)")).toEqual({ _tag: "Other", construct: "(" })
  })
})

describe("checkRelationName", () => {
  it("refuses names that are, or become, file reads", () => {
    for (const parts of [
      ["/etc/passwd"],
      ["x.csv"],
      ["data", "csv"],
      ["a", "b", "parquet"],
      ["C:\\x"],
      ["s3://b/k"],
      ["~"],
      ["duckdb_databases"],
      ["pg_catalog", "PG_SETTINGS"]
    ]) {
      expect(checkRelationName(parts), parts.join(".")).toBeDefined()
    }
    for (const parts of [
      ["t"],
      ["att", "orders"],
      ["information_schema", "tables"],
      ["memory", "main", "csv_imports"]
    ]) {
      expect(checkRelationName(parts), parts.join(".")).toBeUndefined()
    }
  })
})
