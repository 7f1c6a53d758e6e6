import { Ajv2020 } from "ajv/dist/2020.js"
import * as Errors from "../../src/domain/Errors.js"

/** Validates JSON values against schemas inside an OpenAPI 3.1 document, `$ref`s resolved in place. */

type Json = Record<string, any>

const documentId = "https://pondpilot.invalid/openapi.json"

// Effect marks its `unknown` schema with `$id: "/schemas/unknown"`; repeated, it would clash in Ajv.
const withoutIds = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value, (key, inner) => (key === "$id" ? undefined : inner)))

const pointer = (segments: ReadonlyArray<string>): string =>
  segments.map((segment) => encodeURIComponent(segment.replace(/~/g, "~0").replace(/\//g, "~1"))).join("/")

export interface DocumentValidator {
  /** Errors of `value` against the schema at `segments` (e.g. ["components","schemas","Instance"]), or []. */
  readonly check: (segments: ReadonlyArray<string>, value: unknown) => ReadonlyArray<string>
  /** Errors of a response body against what the document says `method path` answers with `status`. */
  readonly checkResponse: (
    method: string,
    path: string,
    status: number,
    contentType: string,
    body: unknown
  ) => ReadonlyArray<string>
  /** Errors of a request body against the operation's documented request body. */
  readonly checkRequest: (method: string, path: string, body: unknown) => ReadonlyArray<string>
}

export const documentValidator = (document: Json): DocumentValidator => {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false })
  ajv.addSchema({ ...(withoutIds(document) as Json), $id: documentId })
  const check = (segments: ReadonlyArray<string>, value: unknown) => {
    const validate = ajv.getSchema(`${documentId}#/${pointer(segments)}`)
    if (validate === undefined) return [`no schema at /${segments.join("/")}`]
    return validate(value)
      ? []
      : (validate.errors ?? []).map((error) => `${error.instancePath || "/"} ${error.message ?? ""}`)
  }
  return {
    check,
    checkResponse: (method, path, status, contentType, body) => {
      const operation = document.paths?.[path]?.[method.toLowerCase()]
      if (operation === undefined) return [`${method} ${path} is not documented`]
      const response = operation.responses?.[String(status)]
      if (response === undefined) return [`${method} ${path} does not document status ${status}`]
      const mediaType = contentType.split(";")[0]!.trim()
      const media = Object.keys(response.content ?? {}).find(
        (documented) => documented.split(";")[0] === mediaType
      )
      if (media === undefined) return [`${method} ${path} ${status} does not document ${mediaType}`]
      return check(
        ["paths", path, method.toLowerCase(), "responses", String(status), "content", media, "schema"],
        body
      )
    },
    checkRequest: (method, path, body) =>
      check(
        ["paths", path, method.toLowerCase(), "requestBody", "content", "application/json", "schema"],
        body
      )
  }
}

/** api.md's code → status, from the error table (src/domain/Errors.ts). */
export const statusByCode: ReadonlyMap<string, number> = new Map(
  Errors.clientErrors.map((ErrorClass) => [ErrorClass.code, ErrorClass.status] as const)
)
