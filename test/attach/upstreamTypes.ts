import { type TypeValue, v } from "../results/typeTable.js"

/**
 * The type tables of docs/upstream-types.md, as tests: per upstream type, the values written upstream
 * (in the upstream's own SQL), the DuckDB type a query reports, and what each format says (as in
 * test/results/typeTable.ts: `json` the parsed JSON value, `csv` the field when it is not the JSON
 * string or JSON text, `arrow` the value read back with arrowValue()). Every case also gets a NULL row.
 */
export interface UpstreamTypeCase {
  /** The column's declared type upstream. */
  readonly upstream: string
  readonly duckdb: string
  readonly arrowType: string
  readonly values: ReadonlyArray<TypeValue>
}

export const postgresSetup = [
  "CREATE TYPE mood AS ENUM ('sad', 'happy')",
  "CREATE TYPE pair AS (a integer, b text)"
]

export const postgresTypes: ReadonlyArray<UpstreamTypeCase> = [
  {
    upstream: "smallint",
    duckdb: "SMALLINT",
    arrowType: "Int16",
    values: [v("-32768", -32768), v("32767", 32767)]
  },
  {
    upstream: "integer",
    duckdb: "INTEGER",
    arrowType: "Int32",
    values: [v("-2147483648", -2147483648), v("2147483647", 2147483647)]
  },
  {
    upstream: "bigint",
    duckdb: "BIGINT",
    arrowType: "Int64",
    values: [
      v("-9223372036854775808", "-9223372036854775808", -9223372036854775808n),
      v("9007199254740993", "9007199254740993", 9007199254740993n),
      v("42", 42, 42n)
    ]
  },
  {
    upstream: "numeric(10,2)",
    duckdb: "DECIMAL(10,2)",
    arrowType: "Decimal[10e+2]",
    values: [v("1.5", "1.50", 150n), v("-12345678.99", "-12345678.99", -1234567899n)]
  },
  {
    upstream: "numeric(38,10)",
    duckdb: "DECIMAL(38,10)",
    arrowType: "Decimal[38e+10]",
    values: [
      v("9999999999999999999999999999.9999999999", "9999999999999999999999999999.9999999999", 10n ** 38n - 1n)
    ]
  },
  {
    // No precision, or more than DuckDB's 38 digits: DOUBLE, i.e. 15–17 significant digits.
    upstream: "numeric",
    duckdb: "DOUBLE",
    arrowType: "Float64",
    values: [
      v("0.1", 0.1),
      v(
        "123456789012345678901234567890.123456789",
        1.2345678901234568e29,
        1.2345678901234568e29,
        "1.2345678901234568e+29"
      )
    ]
  },
  { upstream: "numeric(40,5)", duckdb: "DOUBLE", arrowType: "Float64", values: [v("1.5", 1.5)] },
  {
    upstream: "real",
    duckdb: "FLOAT",
    arrowType: "Float32",
    values: [
      v("0.1", 0.1, Math.fround(0.1)),
      v("'NaN'", "NaN", Number.NaN),
      v("'Infinity'", "Infinity", Number.POSITIVE_INFINITY),
      v("'-Infinity'", "-Infinity", Number.NEGATIVE_INFINITY)
    ]
  },
  {
    upstream: "double precision",
    duckdb: "DOUBLE",
    arrowType: "Float64",
    values: [
      v("0.1", 0.1),
      v("'NaN'", "NaN", Number.NaN),
      v("'Infinity'", "Infinity", Number.POSITIVE_INFINITY),
      v("'-Infinity'", "-Infinity", Number.NEGATIVE_INFINITY)
    ]
  },
  { upstream: "boolean", duckdb: "BOOLEAN", arrowType: "Bool", values: [v("true", true), v("false", false)] },
  {
    upstream: "text",
    duckdb: "VARCHAR",
    arrowType: "Utf8",
    values: [
      v("'plain'", "plain"),
      v("''", ""),
      v("E'line1\\nline2, \"q\"'", 'line1\nline2, "q"'),
      v("'é 中 🎉'", "é 中 🎉")
    ]
  },
  { upstream: "varchar(10)", duckdb: "VARCHAR", arrowType: "Utf8", values: [v("'ab '", "ab ")] },
  // PostgreSQL's own comparison ignores char(n)'s padding; the scanner drops it.
  { upstream: "char(5)", duckdb: "VARCHAR", arrowType: "Utf8", values: [v("'ab'", "ab")] },
  {
    upstream: "bytea",
    duckdb: "BLOB",
    arrowType: "Binary",
    values: [v("'\\x00ff80'", "AP+A", "00ff80"), v("''", "", "")]
  },
  {
    upstream: "date",
    duckdb: "DATE",
    arrowType: "Date32<DAY>",
    values: [
      v("'2024-02-29'", "2024-02-29", 19782),
      v("'0044-03-15 BC'", "-000043-03-15", -735160),
      v("'infinity'", "infinity", 2147483647),
      v("'-infinity'", "-infinity", -2147483647)
    ]
  },
  {
    upstream: "time",
    duckdb: "TIME",
    arrowType: "Time64<MICROSECOND>",
    values: [v("'12:30:00.5'", "12:30:00.5", 45000500000n), v("'24:00:00'", "24:00:00", 86400000000n)]
  },
  {
    upstream: "timetz",
    duckdb: "TIME WITH TIME ZONE",
    arrowType: "Utf8",
    values: [v("'12:30:00+05:30'", "12:30:00+05:30"), v("'23:59:59.5-08'", "23:59:59.5-08:00")]
  },
  {
    upstream: "timestamp",
    duckdb: "TIMESTAMP",
    arrowType: "Timestamp<MICROSECOND>",
    values: [
      v("'2024-02-29 13:45:30.25'", "2024-02-29T13:45:30.25", 1709214330250000n),
      v("'infinity'", "infinity", 9223372036854775807n),
      v("'-infinity'", "-infinity", -9223372036854775807n)
    ]
  },
  {
    upstream: "timestamptz",
    duckdb: "TIMESTAMP WITH TIME ZONE",
    arrowType: "Timestamp<MICROSECOND, UTC>",
    values: [
      v("'2024-02-29 13:45:30.25+02'", "2024-02-29T11:45:30.25Z", 1709207130250000n),
      v("'infinity'", "infinity", 9223372036854775807n)
    ]
  },
  {
    upstream: "interval",
    duckdb: "INTERVAL",
    arrowType: "Interval<MONTH_DAY_NANO>",
    values: [
      v("'1 year 2 months 3 days 04:05:06.5'", "P1Y2M3DT4H5M6.5S", [14, 3, 14706500000000n]),
      v("'-1 day'", "P-1D", [0, -1, 0n])
    ]
  },
  {
    upstream: "uuid",
    duckdb: "UUID",
    arrowType: "FixedSizeBinary[16]",
    values: [
      v(
        "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "a0eebc999c0b4ef8bb6d6bb9bd380a11"
      )
    ]
  },
  {
    upstream: "json",
    duckdb: "VARCHAR",
    arrowType: "Utf8",
    values: [v(`'{"b": 1,  "a": [1, 2]}'`, '{"b": 1,  "a": [1, 2]}')]
  },
  // jsonb is stored normalised: keys sorted, spacing PostgreSQL's.
  {
    upstream: "jsonb",
    duckdb: "VARCHAR",
    arrowType: "Utf8",
    values: [v(`'{"b": 1,  "a": [1, 2]}'`, '{"a": [1, 2], "b": 1}')]
  },
  {
    upstream: "integer[]",
    duckdb: "INTEGER[]",
    arrowType: "List<Int32>",
    values: [v("'{1,NULL,3}'", [1, null, 3]), v("'{}'", [])]
  },
  {
    upstream: "integer[][]",
    duckdb: "INTEGER[][]",
    arrowType: "List<List<Int32>>",
    values: [
      v("'{{1,2},{3,4}}'", [
        [1, 2],
        [3, 4]
      ])
    ]
  },
  {
    upstream: "text[]",
    duckdb: "VARCHAR[]",
    arrowType: "List<Utf8>",
    values: [v(`'{"a,b",c}'`, ["a,b", "c"])]
  },
  {
    upstream: "mood (enum)",
    duckdb: "ENUM('sad', 'happy')",
    arrowType: "Dictionary<Int8, Utf8>",
    values: [v("'happy'", "happy"), v("'sad'", "sad")]
  },
  {
    upstream: "pair (composite)",
    duckdb: "STRUCT(a INTEGER, b VARCHAR)",
    arrowType: "Struct<{a:Int32, b:Utf8}>",
    values: [v("ROW(1, 'x')", { a: 1, b: "x" })]
  },
  // No DuckDB equivalent: PostgreSQL's text form (an inet with its mask always).
  {
    upstream: "inet",
    duckdb: "VARCHAR",
    arrowType: "Utf8",
    values: [v("'192.168.0.1/24'", "192.168.0.1/24"), v("'::1'", "::1/128")]
  },
  { upstream: "int4range", duckdb: "VARCHAR", arrowType: "Utf8", values: [v("'[1,5)'", "[1,5)")] },
  // In the upstream's lc_monetary format (C here).
  { upstream: "money", duckdb: "VARCHAR", arrowType: "Utf8", values: [v("12.34", "$12.34")] },
  {
    upstream: "point",
    duckdb: "STRUCT(x DOUBLE, y DOUBLE)",
    arrowType: "Struct<{x:Float64, y:Float64}>",
    values: [v("'(1,2.5)'", { x: 1, y: 2.5 })]
  }
]

export const mysqlTypes: ReadonlyArray<UpstreamTypeCase> = [
  // A TINYINT(1) holds any 8-bit integer: it stays one (the scanner would make it BOOLEAN).
  {
    upstream: "tinyint(1)",
    duckdb: "TINYINT",
    arrowType: "Int8",
    values: [v("1", 1), v("0", 0), v("5", 5), v("-1", -1)]
  },
  {
    upstream: "bigint",
    duckdb: "BIGINT",
    arrowType: "Int64",
    values: [v("-9223372036854775808", "-9223372036854775808", -9223372036854775808n)]
  },
  {
    upstream: "bigint unsigned",
    duckdb: "UBIGINT",
    arrowType: "Uint64",
    values: [v("18446744073709551615", "18446744073709551615", 18446744073709551615n), v("0", 0, 0n)]
  },
  {
    upstream: "decimal(10,2)",
    duckdb: "DECIMAL(10,2)",
    arrowType: "Decimal[10e+2]",
    values: [v("-12345678.99", "-12345678.99", -1234567899n)]
  },
  { upstream: "float", duckdb: "FLOAT", arrowType: "Float32", values: [v("0.1", 0.1, Math.fround(0.1))] },
  {
    upstream: "double",
    duckdb: "DOUBLE",
    arrowType: "Float64",
    values: [v("0.1", 0.1), v("-1e300", -1e300)]
  },
  {
    upstream: "date",
    duckdb: "DATE",
    arrowType: "Date32<DAY>",
    // The zero date has no calendar day: NULL.
    values: [
      v("'2024-02-29'", "2024-02-29", 19782),
      v("'1000-01-01'", "1000-01-01", -354285),
      v("'0000-00-00'", null)
    ]
  },
  {
    upstream: "datetime(6)",
    duckdb: "TIMESTAMP",
    arrowType: "Timestamp<MICROSECOND>",
    values: [
      v("'2024-02-29 13:45:30.25'", "2024-02-29T13:45:30.25", 1709214330250000n),
      v("'0000-00-00 00:00:00'", null)
    ]
  },
  {
    // Shown in the session's time zone, UTC unless mysql_session_time_zone says otherwise.
    upstream: "timestamp",
    duckdb: "TIMESTAMP",
    arrowType: "Timestamp<MICROSECOND>",
    values: [v("'2024-02-29 13:45:30'", "2024-02-29T13:45:30", 1709214330000000n)]
  },
  {
    // A duration up to ±838 hours, not a time of day: MySQL's text.
    upstream: "time",
    duckdb: "VARCHAR",
    arrowType: "Utf8",
    values: [v("'-838:59:59'", "-838:59:59"), v("'12:30:00'", "12:30:00")]
  },
  { upstream: "year", duckdb: "INTEGER", arrowType: "Int32", values: [v("2024", 2024)] },
  { upstream: "char(5)", duckdb: "VARCHAR", arrowType: "Utf8", values: [v("'ab'", "ab")] },
  { upstream: "varchar(10)", duckdb: "VARCHAR", arrowType: "Utf8", values: [v("'é 中 🎉'", "é 中 🎉")] },
  { upstream: "text", duckdb: "VARCHAR", arrowType: "Utf8", values: [v("'a, \"b\"'", 'a, "b"')] },
  { upstream: "blob", duckdb: "BLOB", arrowType: "Binary", values: [v("x'00ff80'", "AP+A", "00ff80")] },
  { upstream: "json", duckdb: "VARCHAR", arrowType: "Utf8", values: [v(`'{"a": 1}'`, '{"a": 1}')] },
  { upstream: "enum('a','b')", duckdb: "VARCHAR", arrowType: "Utf8", values: [v("'b'", "b")] },
  {
    upstream: "set('a','b')",
    duckdb: "VARCHAR",
    arrowType: "Utf8",
    values: [v("'a,b'", "a,b"), v("''", "")]
  },
  { upstream: "bit(1)", duckdb: "BOOLEAN", arrowType: "Bool", values: [v("b'1'", true), v("b'0'", false)] },
  // The bits, big-endian, as bytes.
  { upstream: "bit(10)", duckdb: "BLOB", arrowType: "Binary", values: [v("b'1000000001'", "AgE=", "0201")] }
]

export const sqliteTypes: ReadonlyArray<UpstreamTypeCase> = [
  {
    upstream: "INTEGER",
    duckdb: "BIGINT",
    arrowType: "Int64",
    values: [v("9223372036854775807", "9223372036854775807", 9223372036854775807n)]
  },
  { upstream: "INT", duckdb: "BIGINT", arrowType: "Int64", values: [v("42", 42, 42n)] },
  { upstream: "REAL", duckdb: "DOUBLE", arrowType: "Float64", values: [v("0.1", 0.1)] },
  { upstream: "TEXT", duckdb: "VARCHAR", arrowType: "Utf8", values: [v("'é, \"x\"'", 'é, "x"')] },
  { upstream: "BLOB", duckdb: "BLOB", arrowType: "Binary", values: [v("x'00ff80'", "AP+A", "00ff80")] },
  {
    upstream: "DATE",
    duckdb: "DATE",
    arrowType: "Date32<DAY>",
    values: [v("'2024-02-29'", "2024-02-29", 19782)]
  },
  {
    upstream: "TIMESTAMP",
    duckdb: "TIMESTAMP",
    arrowType: "Timestamp<MICROSECOND>",
    values: [v("'2024-02-29 13:45:30.25'", "2024-02-29T13:45:30.25", 1709214330250000n)]
  },
  { upstream: "VARCHAR(10)", duckdb: "VARCHAR", arrowType: "Utf8", values: [v("'ab'", "ab")] },
  // No declared type: the value's bytes (text as its UTF-8).
  {
    upstream: "(none)",
    duckdb: "BLOB",
    arrowType: "Binary",
    values: [v("'x'", "eA==", "78"), v("x'00ff'", "AP8=", "00ff")]
  }
]
