import { type DuckDBType, DuckDBTypeId, DuckDBVector } from "@duckdb/node-api"
import { nestedReader } from "./JsonNested.js"
import { temporalReader, timestampReader } from "./JsonTemporal.js"
import {
  hugeBitBytes,
  hugeValueBytes,
  int64At,
  int128At,
  type NativeVector,
  bytesOf as rawBytes,
  StringItems,
  safeInt64At,
  safeInt128At,
  safeUint64At,
  safeUint128At,
  uint32sOf,
  uint64At,
  uint128At,
  validityOf
} from "./RawVector.js"
import {
  base64Text,
  bigIntegerJson,
  bignumText,
  bignumValue,
  bitText,
  decimalText,
  doubleText,
  float32Text,
  isHexBignum,
  uuidText
} from "./ScalarText.js"
import { hugeValue } from "./StringBytes.js"
import { fromText, isNull, type ValueReader, withJson } from "./ValueReader.js"

const typed =
  <A extends ArrayLike<number>>(view: (vector: NativeVector, size: number) => A) =>
  (vector: NativeVector, size: number) => {
    const values = view(vector, size)
    return (i: number) => `${values[i]}`
  }

interface IntegerArray {
  new (buffer: ArrayBuffer, offset: number, length: number): ArrayLike<number>
  readonly BYTES_PER_ELEMENT: number
}

const smallInt = (View: IntegerArray) =>
  fromText(
    typed((vector, size) => {
      const bytes = rawBytes(vector, size, View.BYTES_PER_ELEMENT)
      return new View(bytes.buffer as ArrayBuffer, bytes.byteOffset, size)
    }),
    false
  )

const int64Reader = (signed: boolean): ValueReader => {
  const bind = (json: boolean) => (vector: NativeVector, size: number) => {
    const words = uint32sOf(vector, size, 2)
    return (i: number) => {
      const safe = signed ? safeInt64At(words, i) : safeUint64At(words, i)
      if (safe !== undefined) return `${safe}`
      const big = signed ? int64At(words, i) : uint64At(words, i)
      return json ? `"${big}"` : `${big}`
    }
  }
  return withJson(bind(false), bind(true))
}

const int128Reader = (signed: boolean): ValueReader => {
  const bind = (json: boolean) => (vector: NativeVector, size: number) => {
    const words = uint32sOf(vector, size, 4)
    return (i: number) => {
      const safe = signed ? safeInt128At(words, i) : safeUint128At(words, i)
      if (safe !== undefined) return `${safe}`
      const big = signed ? int128At(words, i) : uint128At(words, i)
      return json ? `"${big}"` : `${big}`
    }
  }
  return withJson(bind(false), bind(true))
}

const floatReader = (width: 4 | 8): ValueReader => {
  const bind = (json: boolean) => (vector: NativeVector, size: number) => {
    const bytes = rawBytes(vector, size, width)
    const values =
      width === 4
        ? new Float32Array(bytes.buffer, bytes.byteOffset, size)
        : new Float64Array(bytes.buffer, bytes.byteOffset, size)
    return (i: number) => {
      const value = values[i]!
      if (Number.isFinite(value)) return width === 4 && value !== 0 ? float32Text(value) : doubleText(value)
      const text = Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity"
      return json ? `"${text}"` : text
    }
  }
  return withJson(bind(false), bind(true))
}

const decimalReader = (width: number, scale: number): ValueReader => {
  if (width <= 4) return fromText(typedDecimal(2, scale), true)
  if (width <= 9) return fromText(typedDecimal(4, scale), true)
  const words128 = width > 18
  return fromText((vector, size) => {
    const words = uint32sOf(vector, size, words128 ? 4 : 2)
    return (i) => {
      const safe = words128 ? safeInt128At(words, i) : safeInt64At(words, i)
      return decimalText(safe ?? (words128 ? int128At(words, i) : int64At(words, i)), scale)
    }
  }, true)
}

const typedDecimal = (bytesPerItem: 2 | 4, scale: number) => (vector: NativeVector, size: number) => {
  const bytes = rawBytes(vector, size, bytesPerItem)
  const values =
    bytesPerItem === 2
      ? new Int16Array(bytes.buffer, bytes.byteOffset, size)
      : new Int32Array(bytes.buffer, bytes.byteOffset, size)
  return (i: number) => decimalText(values[i]!, scale)
}

/**
 * A VARCHAR above `hugeValueBytes` throws `hugeValue` (before anything of it is written), so that
 * the encoder writes its chunk in slices (ValueParts.ts), wherever the string is: a column, a list
 * item, a struct field, a union member.
 */
const varcharReader: ValueReader = {
  plain: false,
  text: (vector, size) => {
    const items = new StringItems(vector, size)
    const validity = items.validity
    return (i) => {
      if (isNull(validity, i)) return null
      if (items.isHugeAt(i)) throw hugeValue
      return items.stringAt(i)
    }
  },
  json: (vector, size) => {
    const items = new StringItems(vector, size)
    const validity = items.validity
    return (i) => {
      if (isNull(validity, i)) return "null"
      if (items.isHugeAt(i)) throw hugeValue
      return JSON.stringify(items.stringAt(i))
    }
  }
}

/** BLOB and BIT: their text from the bytes; above `maxBytes` the item throws `hugeValue` as a VARCHAR does. */
const bytesReader = (format: (bytes: Uint8Array) => string, maxBytes: number) =>
  fromText((vector, size) => {
    const items = new StringItems(vector, size)
    return (i) => {
      if (items.lengthAt(i) > maxBytes) throw hugeValue
      return format(items.bytesAt(i))
    }
  }, true)

const bignumReader = withJson(
  (vector, size) => {
    const items = new StringItems(vector, size)
    return (i) => bignumText(items.bytesAt(i))
  },
  (vector, size) => {
    const items = new StringItems(vector, size)
    return (i) => {
      const bytes = items.bytesAt(i)
      // Far past ±(2^53−1): a string, of hexadecimal digits when decimal ones would take long.
      return isHexBignum(bytes) ? `"${bignumText(bytes)}"` : bigIntegerJson(bignumValue(bytes))
    }
  }
)

const uuidReader = fromText((vector, size) => {
  const bytes = rawBytes(vector, size, 16)
  return (i) => uuidText(bytes, 16 * i)
}, true)

const enumReader = (labels: ReadonlyArray<string>, internal: DuckDBTypeId): ValueReader => {
  const jsonLabels = labels.map((label) => JSON.stringify(label))
  const width = internal === DuckDBTypeId.UTINYINT ? 1 : internal === DuckDBTypeId.USMALLINT ? 2 : 4
  const indexes = (vector: NativeVector, size: number): ArrayLike<number> => {
    const bytes = rawBytes(vector, size, width)
    return width === 1
      ? bytes
      : width === 2
        ? new Uint16Array(bytes.buffer, bytes.byteOffset, size)
        : new Uint32Array(bytes.buffer, bytes.byteOffset, size)
  }
  return {
    plain: false,
    text: (vector, size) => {
      const index = indexes(vector, size)
      const validity = validityOf(vector, size)
      return (i) => (isNull(validity, i) ? null : labels[index[i]!]!)
    },
    json: (vector, size) => {
      const index = indexes(vector, size)
      const validity = validityOf(vector, size)
      return (i) => (isNull(validity, i) ? "null" : jsonLabels[index[i]!]!)
    }
  }
}

/** VARIANT, GEOMETRY and anything newer: DuckDB's display string, read through the node client. */
const displayReader = (type: DuckDBType): ValueReader => ({
  plain: false,
  text: (vector, size) => {
    const items = DuckDBVector.create(vector, size, type)
    return (i) => {
      const item = items.getItem(i)
      return item === null ? null : String(item)
    }
  },
  json: (vector, size) => {
    const items = DuckDBVector.create(vector, size, type)
    return (i) => {
      const item = items.getItem(i)
      return item === null ? "null" : JSON.stringify(String(item))
    }
  }
})

const booleanReader = fromText((vector, size) => {
  const bytes = rawBytes(vector, size, 1)
  return (i) => (bytes[i] !== 0 ? "true" : "false")
}, false)

const nullReader: ValueReader = { plain: true, text: () => () => null, json: () => () => "null" }

const readers = {
  tinyint: smallInt(Int8Array),
  smallint: smallInt(Int16Array),
  integer: smallInt(Int32Array),
  utinyint: smallInt(Uint8Array),
  usmallint: smallInt(Uint16Array),
  uinteger: smallInt(Uint32Array),
  bigint: int64Reader(true),
  ubigint: int64Reader(false),
  hugeint: int128Reader(true),
  uhugeint: int128Reader(false),
  float: floatReader(4),
  double: floatReader(8),
  blob: bytesReader(base64Text, hugeValueBytes),
  bit: bytesReader(bitText, hugeBitBytes)
}

/**
 * Exact values of DuckDB items as JSON text and as plain text (api.md "JSON values"):
 *
 * - integers within ±(2^53−1) are numbers, larger ones strings — decided per value, so a BIGINT
 *   column holds numbers and strings when its values straddle the bound (clients parse both);
 * - DECIMAL → string with exactly `scale` fraction digits ("1.500" for DECIMAL(4,3));
 * - FLOAT/DOUBLE → numbers (FLOAT in its shortest form, -0 kept), NaN/±Infinity → "NaN",
 *   "Infinity", "-Infinity";
 * - BLOB → base64, UUID → canonical text, BIT → string of 0/1, BIGNUM as integers above, ENUM → its
 *   label, BOOLEAN → boolean, VARCHAR (JSON too) → string;
 * - temporal types and nested types: see JsonTemporal.ts and JsonNested.ts;
 * - NULL → null; types this module does not know (VARIANT, GEOMETRY) → DuckDB's display string.
 *
 * A reader is compiled once per column (at `begin`) and bound to each chunk's vector; the bound
 * function reads item `index` straight from DuckDB's memory.
 */
export const valueReader = (type: DuckDBType): ValueReader => {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return booleanReader
    case DuckDBTypeId.TINYINT:
      return readers.tinyint
    case DuckDBTypeId.SMALLINT:
      return readers.smallint
    case DuckDBTypeId.INTEGER:
      return readers.integer
    case DuckDBTypeId.UTINYINT:
      return readers.utinyint
    case DuckDBTypeId.USMALLINT:
      return readers.usmallint
    case DuckDBTypeId.UINTEGER:
      return readers.uinteger
    case DuckDBTypeId.BIGINT:
      return readers.bigint
    case DuckDBTypeId.UBIGINT:
      return readers.ubigint
    case DuckDBTypeId.HUGEINT:
      return readers.hugeint
    case DuckDBTypeId.UHUGEINT:
      return readers.uhugeint
    case DuckDBTypeId.FLOAT:
      return readers.float
    case DuckDBTypeId.DOUBLE:
      return readers.double
    case DuckDBTypeId.DECIMAL:
      return decimalReader(type.width, type.scale)
    case DuckDBTypeId.VARCHAR:
      return varcharReader
    case DuckDBTypeId.BLOB:
      return readers.blob
    case DuckDBTypeId.BIT:
      return readers.bit
    case DuckDBTypeId.BIGNUM:
      return bignumReader
    case DuckDBTypeId.UUID:
      return uuidReader
    case DuckDBTypeId.ENUM:
      return enumReader(type.values, type.internalTypeId)
    case DuckDBTypeId.DATE:
    case DuckDBTypeId.TIME:
    case DuckDBTypeId.TIME_NS:
    case DuckDBTypeId.TIME_TZ:
    case DuckDBTypeId.INTERVAL:
      return temporalReader(type.typeId)
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return timestampReader(type.typeId)
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
    case DuckDBTypeId.STRUCT:
    case DuckDBTypeId.MAP:
    case DuckDBTypeId.UNION:
      return nestedReader(type, valueReader)
    case DuckDBTypeId.SQLNULL:
      return nullReader
    default:
      return displayReader(type)
  }
}
