/**
 * The words the statement gate's head parser (SqlHead.ts) decides by: statements never allowed, objects a
 * client never creates, and what may appear in the few heads it rebuilds.
 */

/** First words of statements refused under every policy, with the reason the client is told. */
export const neverAllowedStatements: ReadonlyMap<string, string> = new Map([
  ["SET", "server settings are fixed"],
  ["RESET", "server settings are fixed"],
  ["PRAGMA", "pragmas change or reveal server state"],
  ["ATTACH", "databases are attached through the API"],
  ["DETACH", "databases are detached through the API"],
  ["USE", "qualify names instead: alias.schema.table"],
  ["INSTALL", "extensions are managed by the server"],
  ["LOAD", "extensions are managed by the server"],
  ["FORCE", "extensions and storage are managed by the server"],
  ["COPY", "the server's files are not accessible"],
  ["EXPORT", "the server's files are not accessible"],
  ["IMPORT", "the server's files are not accessible"],
  ["CALL", "it runs table functions outside the gate"],
  ["VACUUM", "storage maintenance is the server's job"],
  ["ANALYZE", "storage maintenance is the server's job"],
  ["CHECKPOINT", "storage maintenance is the server's job"],
  ["PREPARE", "send parameters with the request instead"],
  ["EXECUTE", "send parameters with the request instead"],
  ["DEALLOCATE", "send parameters with the request instead"],
  ["BEGIN", "each request is its own transaction"],
  ["START", "each request is its own transaction"],
  ["COMMIT", "each request is its own transaction"],
  ["END", "each request is its own transaction"],
  ["ROLLBACK", "each request is its own transaction"],
  ["ABORT", "each request is its own transaction"],
  ["SAVEPOINT", "each request is its own transaction"],
  ["RELEASE", "each request is its own transaction"],
  ["MERGE", "MERGE is not supported"],
  ["COMMENT", "COMMENT ON is not supported"]
])

/** `CREATE <kind>` a client never runs (so `DROP <kind>` has nothing of theirs to drop either). */
export const objectsNeverCreated: ReadonlyMap<string, string> = new Map([
  ["SECRET", "secrets are managed by the server"],
  ["MACRO", "macro bodies cannot be inspected"],
  ["FUNCTION", "macro bodies cannot be inspected"],
  ["SCHEMA", "client tables live in the main schema"],
  ["TYPE", "types are not supported"],
  ["SEQUENCE", "sequences are not supported"],
  ["INDEX", "indexes are not supported"],
  ["UNIQUE", "indexes are not supported"],
  ["DATABASE", "databases are attached through the API"]
])

/** Words that would open an expression inside a column definition. */
export const expressionOpeners: ReadonlySet<string> = new Set(
  "DEFAULT CHECK AS GENERATED ALWAYS REFERENCES FOREIGN USING".split(" ")
)
/** Words a column definition may follow with `(`: type modifiers and constraint column lists. */
export const columnWordsBeforeParenthesis: ReadonlySet<string> = new Set(
  "DECIMAL NUMERIC DEC VARCHAR CHAR CHARACTER VARYING BPCHAR NVARCHAR STRING TEXT STRUCT ROW MAP UNION BIT BITSTRING FLOAT TIMESTAMP TIME KEY UNIQUE".split(
    " "
  )
)
/** Reserved words that start a query: after `INSERT INTO t (` they mean a parenthesised query. */
export const queryStarts: ReadonlySet<string> = new Set("SELECT WITH VALUES FROM TABLE".split(" "))
/** `EXPLAIN (FORMAT x)` values: each only changes how the plan is printed. */
export const explainFormats: ReadonlySet<string> = new Set("JSON HTML GRAPHVIZ TEXT YAML MERMAID".split(" "))
