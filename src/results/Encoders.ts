import { ArrowEncoder } from "./ArrowEncoder.js"
import { CsvEncoder, NdjsonEncoder } from "./ByteEncoders.js"
import type { ResultEncoder } from "./Encoder.js"
import type { ResultFormat } from "./Format.js"
import { JsonEncoder } from "./TextEncoders.js"

/** The encoder of each format; apart from the contract (Encoder.ts), which every encoder imports. */
export const makeEncoder = (format: ResultFormat): ResultEncoder => {
  switch (format) {
    case "json":
      return new JsonEncoder()
    case "ndjson":
      return new NdjsonEncoder()
    case "csv":
      return new CsvEncoder()
    case "arrow":
      return new ArrowEncoder()
  }
}
