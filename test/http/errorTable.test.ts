import * as fs from "node:fs"
import * as path from "node:path"
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { clientErrors, errorWire, isClientError } from "../../src/domain/Errors.js"
import { NotReady } from "../../src/http/HealthApi.js"
import { errorBody, errorHeaders } from "../../src/http/Responses.js"
import { readRepoFile, repoRoot } from "../support/RepoFiles.js"

/**
 * The error table (src/domain/Errors.ts): one class per code, each with one status, answered with
 * the body its wire schema describes.
 */

const instances = clientErrors.map(
  (ErrorClass) => new ErrorClass({ message: "what went wrong", retryAfterSeconds: 2, allow: ["GET", "POST"] })
)

describe("the error table", () => {
  it("maps each code to exactly one class and one status", () => {
    const codes = clientErrors.map((ErrorClass) => ErrorClass.code)
    expect(new Set(codes).size).toBe(codes.length)
    expect(new Set(clientErrors.map((ErrorClass) => ErrorClass._tag)).size).toBe(codes.length)
    for (const [i, error] of instances.entries()) {
      const ErrorClass = clientErrors[i]!
      expect(error.code, error._tag).toBe(ErrorClass.code)
      expect(error.status, error._tag).toBe(ErrorClass.status)
      expect(error.status >= 400 && error.status < 600, error._tag).toBe(true)
    }
    // api.md's codes, each at its status.
    expect(
      Object.fromEntries(clientErrors.map((ErrorClass) => [ErrorClass.code, ErrorClass.status]))
    ).toEqual({
      invalid_request: 400,
      sql_error: 400,
      statement_too_large: 400,
      unauthorized: 401,
      read_only: 403,
      forbidden_statement: 403,
      not_found: 404,
      method_not_allowed: 405,
      not_acceptable: 406,
      alias_exists: 409,
      cancelled: 409,
      payload_too_large: 413,
      unsupported_media_type: 415,
      rate_limited: 429,
      instance_limit: 429,
      upstream_unavailable: 502,
      extension_unavailable: 503,
      pool_exhausted: 503,
      shutting_down: 503,
      store_unavailable: 503,
      query_timeout: 504,
      internal: 500
    })
  })

  it("answers every error with the body its wire schema describes, and nothing more", () => {
    for (const error of instances) {
      const body = JSON.parse(errorBody(error, "req-1"))
      expect(Schema.decodeUnknownSync(errorWire(error.code))(body, { onExcessProperty: "error" })).toEqual({
        code: error.code,
        error: "what went wrong",
        requestId: "req-1"
      })
    }
  })

  it("carries Retry-After and Allow where the error says them", () => {
    const headers = Object.fromEntries(instances.map((error) => [error.code, errorHeaders(error)]))
    expect(headers.rate_limited).toEqual({ "retry-after": "2" })
    expect(headers.method_not_allowed).toEqual({ allow: "GET, POST" })
    expect(
      Object.entries(headers)
        .filter(([, value]) => Object.keys(value).length > 0)
        .map(([code]) => code)
    ).toEqual(["method_not_allowed", "rate_limited"])
  })

  it("tells client errors from everything else", () => {
    for (const error of instances) expect(isClientError(error), error._tag).toBe(true)
    expect(isClientError(new NotReady({ error: "starting" }))).toBe(false)
    expect(isClientError(new Error("boom"))).toBe(false)
    expect(isClientError({ _tag: "Other" })).toBe(false)
    expect(isClientError(null)).toBe(false)
  })
})

describe("the API reference", () => {
  /** `| 400 | \`invalid_request\` | …` rows of the README and the docs, wherever the error table lives. */
  const documentedRows = (): Array<[number, string]> => {
    const docs = path.join(repoRoot, "docs")
    const pages = [
      "README.md",
      ...(fs.existsSync(docs)
        ? fs
            .readdirSync(docs)
            .filter((name) => name.endsWith(".md"))
            .map((name) => `docs/${name}`)
        : [])
    ]
    return pages.flatMap((page) =>
      [...readRepoFile(page).matchAll(/^\| (\d{3}) \| `([a-z_]+)` \|/gm)].map(
        (row) => [Number(row[1]), row[2]!] as [number, string]
      )
    )
  }

  it("lists every error code at the status the error table gives it", () => {
    const rows = documentedRows()
    const statusOf = new Map(clientErrors.map((ErrorClass) => [ErrorClass.code as string, ErrorClass.status]))
    for (const [status, code] of rows) expect(statusOf.get(code), code).toBe(status)
    expect([...statusOf.keys()].filter((code) => !rows.some(([, row]) => row === code))).toEqual([])
  })
})
