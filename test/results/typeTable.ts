/**
 * One row per DuckDB type: edge values as SQL, and what each format must say about them.
 * `json` is the parsed JSON value; `csv` the field text (defaults to the JSON string, or the JSON text
 * of anything else); `arrow` the value read back with arrowValue(). Every case also gets a NULL row.
 */
export interface TypeValue {
  readonly sql: string
  readonly json: unknown
  readonly csv?: string
  readonly arrow: unknown
}

export interface TypeCase {
  readonly type: string
  readonly typeName?: string
  readonly arrowType: string
  readonly values: ReadonlyArray<TypeValue>
}

export const v = (sql: string, json: unknown, arrow: unknown = json, csv?: string): TypeValue =>
  csv === undefined ? { sql, json, arrow } : { sql, json, arrow, csv }

export const setupSql = ["CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')"]

export const typeCases: ReadonlyArray<TypeCase> = [
  { type: "BOOLEAN", arrowType: "Bool", values: [v("true", true), v("false", false)] },
  { type: "TINYINT", arrowType: "Int8", values: [v("-128", -128), v("127", 127), v("0", 0)] },
  { type: "SMALLINT", arrowType: "Int16", values: [v("-32768", -32768), v("32767", 32767)] },
  {
    type: "INTEGER",
    arrowType: "Int32",
    values: [v("-2147483648", -2147483648), v("2147483647", 2147483647)]
  },
  {
    type: "BIGINT",
    arrowType: "Int64",
    values: [
      v("-9223372036854775808", "-9223372036854775808", -9223372036854775808n),
      v("9223372036854775807", "9223372036854775807", 9223372036854775807n),
      v("9007199254740991", 9007199254740991, 9007199254740991n),
      v("9007199254740992", "9007199254740992", 9007199254740992n),
      v("-9007199254740991", -9007199254740991, -9007199254740991n),
      v("-9007199254740992", "-9007199254740992", -9007199254740992n),
      v("-1", -1, -1n)
    ]
  },
  { type: "UTINYINT", arrowType: "Uint8", values: [v("0", 0), v("255", 255)] },
  { type: "USMALLINT", arrowType: "Uint16", values: [v("65535", 65535)] },
  { type: "UINTEGER", arrowType: "Uint32", values: [v("4294967295", 4294967295)] },
  {
    type: "UBIGINT",
    arrowType: "Uint64",
    values: [
      v("18446744073709551615", "18446744073709551615", 18446744073709551615n),
      v("9007199254740991", 9007199254740991, 9007199254740991n),
      v("0", 0, 0n)
    ]
  },
  {
    type: "HUGEINT",
    arrowType: "Decimal[38e0]",
    values: [
      v(
        "-170141183460469231731687303715884105728",
        "-170141183460469231731687303715884105728",
        -(2n ** 127n)
      ),
      v(
        "170141183460469231731687303715884105727",
        "170141183460469231731687303715884105727",
        2n ** 127n - 1n
      ),
      v("42", 42, 42n),
      v("-1", -1, -1n),
      v("-9007199254740991", -9007199254740991, -9007199254740991n),
      v("18446744073709551616", "18446744073709551616", 2n ** 64n)
    ]
  },
  {
    type: "UHUGEINT",
    arrowType: "Decimal[39e0]",
    values: [
      v(
        "340282366920938463463374607431768211455",
        "340282366920938463463374607431768211455",
        2n ** 128n - 1n
      ),
      v("7", 7, 7n)
    ]
  },
  {
    type: "DECIMAL(4,3)",
    arrowType: "Decimal[4e+3]",
    values: [v("1.5", "1.500", 1500n), v("-0.001", "-0.001", -1n), v("9.999", "9.999", 9999n)]
  },
  {
    type: "DECIMAL(9,2)",
    arrowType: "Decimal[9e+2]",
    values: [v("1234567.89", "1234567.89", 123456789n), v("-0.05", "-0.05", -5n)]
  },
  {
    type: "DECIMAL(18,3)",
    arrowType: "Decimal[18e+3]",
    values: [
      v("999999999999999.999", "999999999999999.999", 999999999999999999n),
      v("-999999999999999.999", "-999999999999999.999", -999999999999999999n),
      v("-0.5", "-0.500", -500n)
    ]
  },
  {
    type: "DECIMAL(38,10)",
    arrowType: "Decimal[38e+10]",
    values: [
      v(
        "9999999999999999999999999999.9999999999",
        "9999999999999999999999999999.9999999999",
        10n ** 38n - 1n
      ),
      v("-1.0000000001", "-1.0000000001", -10000000001n),
      v("0", "0.0000000000", 0n)
    ]
  },
  {
    type: "FLOAT",
    arrowType: "Float32",
    values: [
      v("0.1", 0.1, Math.fround(0.1)),
      v("'nan'", "NaN", Number.NaN),
      v("'inf'", "Infinity", Number.POSITIVE_INFINITY),
      v("'-inf'", "-Infinity", Number.NEGATIVE_INFINITY),
      v("'-0.0'", -0, -0, "-0"),
      v("3.4028235e38", 3.4028235e38, Math.fround(3.4028235e38)),
      v("1e-45", 1e-45, Math.fround(1e-45))
    ]
  },
  {
    type: "DOUBLE",
    arrowType: "Float64",
    values: [
      v("0.1", 0.1),
      v("'nan'", "NaN", Number.NaN),
      v("'inf'", "Infinity", Number.POSITIVE_INFINITY),
      v("'-inf'", "-Infinity", Number.NEGATIVE_INFINITY),
      v("'-0.0'", -0, -0, "-0"),
      v("1.7976931348623157e308", 1.7976931348623157e308),
      v("5e-324", 5e-324),
      v("1e21", 1e21, 1e21, "1e+21")
    ]
  },
  {
    type: "VARCHAR",
    arrowType: "Utf8",
    values: [
      v("'plain'", "plain"),
      v(`'say "hi", then go'`, 'say "hi", then go'),
      v("'line1' || chr(10) || 'line2' || chr(13) || chr(10) || 'x'", "line1\nline2\r\nx"),
      v("'é 中 🎉 \u2028'", "é 中 🎉 \u2028"),
      v("''", ""),
      v("'a string longer than twelve bytes'", "a string longer than twelve bytes"),
      v("'  padded  '", "  padded  ")
    ]
  },
  {
    type: "BLOB",
    arrowType: "Binary",
    values: [
      v("'\\x00\\x80\\xFF'", "AID/", "0080ff"),
      v(
        "'\\xFE\\xFF\\x80\\x81abcdefghijklmnop'",
        "/v+AgWFiY2RlZmdoaWprbG1ub3A=",
        "feff80816162636465666768696a6b6c6d6e6f70"
      ),
      v("''", "", "")
    ]
  },
  {
    type: "DATE",
    arrowType: "Date32<DAY>",
    values: [
      v("'1969-12-31'", "1969-12-31", -1),
      v("'1970-01-01'", "1970-01-01", 0),
      v("'0001-01-01 (BC)'", "0000-01-01", -719528),
      v("'0044-03-15 (BC)'", "-000043-03-15", -735160),
      v("'9999-12-31'", "9999-12-31", 2932896),
      v("'10000-01-01'", "+010000-01-01", 2932897),
      v("'5881580-07-10'", "+5881580-07-10", 2147483646),
      v("'5877642-06-25 (BC)'", "-5877641-06-25", -2147483646),
      v("'infinity'", "infinity", 2147483647),
      v("'-infinity'", "-infinity", -2147483647)
    ]
  },
  {
    type: "TIME",
    arrowType: "Time64<MICROSECOND>",
    values: [
      v("'00:00:00'", "00:00:00", 0n),
      v("'12:30:00.5'", "12:30:00.5", 45000500000n),
      v("'23:59:59.999999'", "23:59:59.999999", 86399999999n),
      v("'24:00:00'", "24:00:00", 86400000000n)
    ]
  },
  {
    type: "TIME_NS",
    arrowType: "Time64<NANOSECOND>",
    values: [
      v("'12:34:56.123456789'", "12:34:56.123456789", 45296123456789n),
      v("'00:00:01'", "00:00:01", 1000000000n)
    ]
  },
  {
    type: "TIMETZ",
    typeName: "TIME WITH TIME ZONE",
    arrowType: "Utf8",
    values: [
      v("'12:00:00+05:30'", "12:00:00+05:30"),
      v("'12:00:00-08'", "12:00:00-08:00"),
      v("'23:59:59.999999-15:59:59'", "23:59:59.999999-15:59:59"),
      v("'00:00:00+00'", "00:00:00+00:00")
    ]
  },
  {
    type: "TIMESTAMP",
    arrowType: "Timestamp<MICROSECOND>",
    values: [
      v("'1970-01-01 00:00:00'", "1970-01-01T00:00:00", 0n),
      v("'1969-12-31 23:59:59.999999'", "1969-12-31T23:59:59.999999", -1n),
      v("'2024-02-29 13:45:30.25'", "2024-02-29T13:45:30.25", 1709214330250000n),
      v("'2262-04-11 23:47:16.854775'", "2262-04-11T23:47:16.854775", 9223372036854775n),
      v("'0001-01-01 00:00:00'", "0001-01-01T00:00:00", -62135596800000000n),
      v("'294247-01-10 04:00:54.775806'", "+294247-01-10T04:00:54.775806", 9223372036854775806n),
      v("'290309-12-22 (BC) 00:00:00'", "-290308-12-22T00:00:00", -9223372022400000000n),
      v("'infinity'", "infinity", 9223372036854775807n),
      v("'-infinity'", "-infinity", -9223372036854775807n)
    ]
  },
  {
    type: "TIMESTAMP_S",
    arrowType: "Timestamp<SECOND>",
    values: [
      v("'2020-01-01 00:00:01'", "2020-01-01T00:00:01", 1577836801n),
      v("'1900-01-01 00:00:00'", "1900-01-01T00:00:00", -2208988800n)
    ]
  },
  {
    type: "TIMESTAMP_MS",
    arrowType: "Timestamp<MILLISECOND>",
    values: [
      v("'2020-01-01 00:00:00.123'", "2020-01-01T00:00:00.123", 1577836800123n),
      v("'1969-12-31 23:59:59.999'", "1969-12-31T23:59:59.999", -1n)
    ]
  },
  {
    type: "TIMESTAMP_NS",
    arrowType: "Timestamp<NANOSECOND>",
    values: [
      v("'2020-01-01 00:00:00.000000001'", "2020-01-01T00:00:00.000000001", 1577836800000000001n),
      v("'1969-12-31 23:59:59.999999999'", "1969-12-31T23:59:59.999999999", -1n),
      v("'2262-04-11 23:47:16.854775'", "2262-04-11T23:47:16.854775", 9223372036854775000n)
    ]
  },
  {
    type: "TIMESTAMPTZ",
    typeName: "TIMESTAMP WITH TIME ZONE",
    arrowType: "Timestamp<MICROSECOND, UTC>",
    values: [
      v("'2020-01-01 12:00:00+02'", "2020-01-01T10:00:00Z", 1577872800000000n),
      v("'1969-12-31 23:59:59.5+00'", "1969-12-31T23:59:59.5Z", -500000n),
      v("'infinity'", "infinity", 9223372036854775807n)
    ]
  },
  {
    type: "INTERVAL",
    arrowType: "Interval<MONTH_DAY_NANO>",
    values: [
      v("INTERVAL '1 year 2 months 3 days 04:05:06.5'", "P1Y2M3DT4H5M6.5S", [14, 3, 14706500000000n]),
      v("to_months(-14) + to_days(3) - INTERVAL '04:05:06.5'", "P-1Y-2M3DT-4H-5M-6.5S", [
        -14,
        3,
        -14706500000000n
      ]),
      v("INTERVAL 0 DAY", "PT0S", [0, 0, 0n]),
      v("INTERVAL 90 MINUTE", "PT1H30M", [0, 0, 5400000000000n]),
      v("to_days(-1)", "P-1D", [0, -1, 0n]),
      v("to_microseconds(9223372036854775807)", "PT2562047788H54.775807S", [0, 106751991, 14454775807000n])
    ]
  },
  {
    type: "UUID",
    arrowType: "FixedSizeBinary[16]",
    values: [
      v("'00000000-0000-0000-0000-000000000000'", "00000000-0000-0000-0000-000000000000", "0".repeat(32)),
      v("'ffffffff-ffff-ffff-ffff-ffffffffffff'", "ffffffff-ffff-ffff-ffff-ffffffffffff", "f".repeat(32)),
      v(
        "'550e8400-e29b-41d4-a716-446655440000'",
        "550e8400-e29b-41d4-a716-446655440000",
        "550e8400e29b41d4a716446655440000"
      )
    ]
  },
  {
    type: "INTEGER[]",
    arrowType: "List<Int32>",
    values: [v("[1, 2, 3]", [1, 2, 3]), v("[]", []), v("[NULL, 1]", [null, 1])]
  },
  {
    type: "STRUCT(a INTEGER, b VARCHAR)[]",
    arrowType: "List<Struct<{a:Int32, b:Utf8}>>",
    values: [
      v("[{'a': 1, 'b': 'x,y'}, NULL]", [{ a: 1, b: "x,y" }, null]),
      v("[{'a': NULL, 'b': 'z'}]", [{ a: null, b: "z" }])
    ]
  },
  {
    type: "BIGINT[][]",
    arrowType: "List<List<Int64>>",
    values: [v("[[1], [2, 3], []]", [[1], [2, 3], []], [[1n], [2n, 3n], []])]
  },
  {
    type: "INTEGER[3]",
    arrowType: "FixedSizeList[3]<Int32>",
    values: [v("[1, 2, 3]", [1, 2, 3]), v("[NULL, 2, NULL]", [null, 2, null])]
  },
  {
    type: "STRUCT(a INTEGER, b VARCHAR)",
    arrowType: "Struct<{a:Int32, b:Utf8}>",
    values: [v("{'a': 1, 'b': 'x'}", { a: 1, b: "x" }), v("{'a': NULL, 'b': 'y\"'}", { a: null, b: 'y"' })]
  },
  {
    type: 'STRUCT("select" INTEGER, "x y" DOUBLE)',
    arrowType: "Struct<{select:Int32, x y:Float64}>",
    values: [v(`{'select': 1, 'x y': 2.5}`, { select: 1, "x y": 2.5 })]
  },
  {
    type: "MAP(VARCHAR, INTEGER)",
    arrowType: "Map<{key:Utf8, value:Int32}>",
    values: [
      v("MAP {'k1': 1, 'k2': NULL}", { k1: 1, k2: null }, [
        ["k1", 1],
        ["k2", null]
      ]),
      v("MAP {}", {}, [])
    ]
  },
  {
    type: "MAP(INTEGER, VARCHAR)",
    arrowType: "Map<{key:Int32, value:Utf8}>",
    values: [
      v(
        "MAP {1: 'a', 2: 'b'}",
        [
          { key: 1, value: "a" },
          { key: 2, value: "b" }
        ],
        [
          [1, "a"],
          [2, "b"]
        ]
      )
    ]
  },
  {
    type: "mood",
    typeName: "ENUM('sad', 'ok', 'happy')",
    arrowType: "Dictionary<Int8, Utf8>",
    values: [v("'sad'", "sad"), v("'happy'", "happy")]
  },
  { type: "BIT", arrowType: "Utf8", values: [v("'0101'", "0101"), v("'101010101'", "101010101")] },
  {
    type: "UNION(num INTEGER, str VARCHAR)",
    arrowType: "Utf8",
    values: [v("union_value(num := 42)", 42, "42", "42"), v("union_value(str := 'x,y')", "x,y")]
  },
  {
    type: "BIGNUM",
    arrowType: "Utf8",
    values: [
      v("'123456789012345678901234567890'", "123456789012345678901234567890"),
      v("42", 42, "42", "42"),
      v("-42", -42, "-42", "-42"),
      v("'-9007199254740992'", "-9007199254740992")
    ]
  },
  { type: "JSON", arrowType: "Utf8", values: [v(`'{"a":[1,2]}'`, '{"a":[1,2]}')] }
]
