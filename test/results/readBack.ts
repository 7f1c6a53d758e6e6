import { type Data, DataType, type Decimal, type Table, tableFromIPC } from "apache-arrow"

/**
 * RFC 4180 reader for checking our CSV: returns each record's fields, with an unquoted empty field as
 * `null` (our NULL) and a quoted one as "" (the empty string). Refuses CRLF-less line ends and stray
 * quotes so that sloppy output fails the tests.
 */
export const parseCsv = (text: string): Array<Array<string | null>> => {
  const records: Array<Array<string | null>> = []
  let record: Array<string | null> = []
  let i = 0
  while (i < text.length) {
    let field: string | null
    if (text[i] === '"') {
      let value = ""
      i++
      for (;;) {
        if (i >= text.length) throw new Error("unterminated quoted field")
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            value += '"'
            i += 2
          } else {
            i++
            break
          }
        } else value += text[i++]
      }
      field = value
    } else {
      let end = i
      while (end < text.length && text[end] !== "," && text[end] !== "\r" && text[end] !== "\n") {
        if (text[end] === '"') throw new Error(`stray quote at ${end}`)
        end++
      }
      field = end === i ? null : text.slice(i, end)
      i = end
    }
    record.push(field)
    if (text[i] === ",") i++
    else if (text.startsWith("\r\n", i)) {
      records.push(record)
      record = []
      i += 2
    } else throw new Error(`expected , or CRLF at ${i}`)
  }
  if (record.length > 0) throw new Error("last record without CRLF")
  return records
}

export const readArrow = (bytes: Uint8Array): Table => tableFromIPC(bytes)

const words = (values: Uint32Array, index: number, count: number): bigint => {
  let value = 0n
  for (let w = count - 1; w >= 0; w--) value = (value << 32n) | BigInt(values[index * count + w]!)
  return BigInt.asIntN(count * 32, value)
}

/**
 * A value read back from Arrow data in a form tests can compare exactly: 64-bit integers, times and
 * timestamps as their raw bigint, dates as raw days, decimals as the unscaled bigint, intervals as
 * [months, days, nanoseconds], binary as hex, lists as arrays, structs as objects, maps as
 * [key, value] pairs, dictionaries as their label.
 */
export const arrowValue = (data: Data, index: number): unknown => {
  if (!data.getValid(index)) return null
  const type = data.type
  const i = data.offset + index
  if (DataType.isDictionary(type)) return data.dictionary!.get(data.values[i] as number)
  if (DataType.isList(type)) {
    const offsets = data.valueOffsets as Int32Array
    const out = []
    for (let j = offsets[i]!; j < offsets[i + 1]!; j++) out.push(arrowValue(data.children[0]!, j))
    return out
  }
  if (DataType.isFixedSizeList(type)) {
    const out = []
    for (let j = 0; j < type.listSize; j++) out.push(arrowValue(data.children[0]!, i * type.listSize + j))
    return out
  }
  if (DataType.isMap(type)) {
    const offsets = data.valueOffsets as Int32Array
    const entries = data.children[0]!
    const out = []
    for (let j = offsets[i]!; j < offsets[i + 1]!; j++) {
      out.push([arrowValue(entries.children[0]!, j), arrowValue(entries.children[1]!, j)])
    }
    return out
  }
  if (DataType.isStruct(type)) {
    return Object.fromEntries(type.children.map((field, k) => [field.name, arrowValue(data.children[k]!, i)]))
  }
  if (DataType.isDecimal(type)) return words(data.values as Uint32Array, i, (type as Decimal).bitWidth / 32)
  if (DataType.isInterval(type)) {
    const values = data.values as Int32Array
    return [
      values[4 * i],
      values[4 * i + 1],
      words(new Uint32Array(values.buffer, values.byteOffset), 2 * i + 1, 2)
    ]
  }
  if (DataType.isFixedSizeBinary(type) || DataType.isBinary(type)) {
    const bytes = DataType.isBinary(type)
      ? (data.values as Uint8Array).subarray(
          (data.valueOffsets as Int32Array)[i],
          (data.valueOffsets as Int32Array)[i + 1]
        )
      : (data.values as Uint8Array).subarray(i * type.byteWidth, (i + 1) * type.byteWidth)
    return Buffer.from(bytes).toString("hex")
  }
  if (DataType.isDate(type) || DataType.isTime(type) || DataType.isTimestamp(type)) return data.values[i]
  if (DataType.isUtf8(type)) {
    const offsets = data.valueOffsets as Int32Array
    return Buffer.from((data.values as Uint8Array).subarray(offsets[i], offsets[i + 1])).toString("utf8")
  }
  if (DataType.isBool(type)) return ((data.values as Uint8Array)[i >> 3]! & (1 << (i & 7))) !== 0
  return data.values[i]
}

/** Every value of column `name`, across all record batches. */
export const arrowColumnValues = (table: Table, name: string): Array<unknown> => {
  const vector = table.getChild(name)
  if (vector === null) throw new Error(`no column ${name}`)
  return vector.data.flatMap((data) => Array.from({ length: data.length }, (_, k) => arrowValue(data, k)))
}
