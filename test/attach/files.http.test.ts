import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { NoFileRoots, NotUnderFileRoots } from "../../src/attach/FilePolicy.js"
import {
  client,
  expectError,
  logText,
  makeDuckDbFile,
  rowsOf,
  startLoggedServer,
  tempRoot
} from "../support/Databases.js"
import { type RunningServer, testSettings } from "../support/TestServer.js"

/**
 * Which files an API attach may open (security.md §5): only under `duckdb.file_roots`, after `..` and
 * symlinks, with one answer whether or not the file exists; nothing at all without roots.
 */
let withRoots: RunningServer
let withoutRoots: RunningServer
let base: string
let root: string
let outside: string
let insideFile: string
let outsideFile: string

beforeAll(async () => {
  base = tempRoot("files")
  root = path.join(base, "root")
  outside = path.join(base, "outside")
  fs.mkdirSync(root)
  fs.mkdirSync(outside)
  insideFile = await makeDuckDbFile(path.join(root, "inside.duckdb"), ["CREATE TABLE t AS SELECT 1 AS n"])
  outsideFile = await makeDuckDbFile(path.join(outside, "secret.duckdb"), [
    "CREATE TABLE t AS SELECT 'tenant B' AS owner"
  ])
  // A sibling whose name starts with the root's: a prefix check without the separator would admit it.
  fs.mkdirSync(`${root}-evil`)
  await makeDuckDbFile(path.join(`${root}-evil`, "x.duckdb"), ["CREATE TABLE t AS SELECT 1 AS n"])
  fs.symlinkSync(outsideFile, path.join(root, "link.duckdb"))
  fs.symlinkSync(path.join(outside, "missing.duckdb"), path.join(root, "dangling.duckdb"))
  fs.symlinkSync(outside, path.join(root, "dirlink"))
  fs.symlinkSync(insideFile, path.join(root, "alias-of-inside.duckdb"))
  fs.writeFileSync(path.join(root, "notes.duckdb"), "these are notes, not a database\n".repeat(100))
  fs.mkdirSync(path.join(root, "folder.duckdb"))
  const noExtensions = tempRoot("files-noext")
  withRoots = await startLoggedServer(
    testSettings({ duckdb: { file_roots: [root], extension_directory: noExtensions } })
  )
  withoutRoots = await startLoggedServer(testSettings({ duckdb: { extension_directory: noExtensions } }))
})
afterAll(async () => {
  await Promise.all([withRoots?.dispose(), withoutRoots?.dispose()])
})

describe("duckdb.file_roots", () => {
  it("refuses anything outside the roots with one 403 message, whether or not the file exists", async () => {
    const api = client(withRoots)
    const id = await api.createInstance()
    const escapes = [
      outsideFile,
      path.join(outside, "missing.duckdb"),
      `${root}/../outside/secret.duckdb`,
      `${root}/../outside/missing.duckdb`,
      "../outside/secret.duckdb",
      "../outside/missing.duckdb",
      path.join(root, "link.duckdb"),
      path.join(root, "dangling.duckdb"),
      path.join(root, "dirlink", "secret.duckdb"),
      path.join(root, "dirlink", "missing.duckdb"),
      path.join(`${root}-evil`, "x.duckdb"),
      "/etc/passwd",
      "/etc/no-such-file",
      "/",
      base
    ]
    for (const type of ["duckdb", "sqlite"]) {
      for (const connectionString of escapes) {
        const answer = await api.attach(id, { type, alias: "probe", connectionString })
        expect({ type, connectionString, status: answer.status, body: answer.body }).toEqual({
          type,
          connectionString,
          status: 403,
          body: { code: "forbidden_statement", error: NotUnderFileRoots, requestId: answer.body.requestId }
        })
        expect(answer.text).not.toContain(base)
      }
    }
    expect((await api.list(id)).body).toEqual({ databases: [] })
    expect(logText(withRoots)).not.toContain(base)
  })

  it("admits files under a root, through a symlink that stays inside too", async () => {
    const api = client(withRoots)
    const id = await api.createInstance()
    const inside = await api.attach(id, { type: "duckdb", alias: "a", connectionString: insideFile })
    expect(inside.status, inside.text).toBe(201)
    const viaLink = await api.attach(id, {
      type: "duckdb",
      alias: "b",
      connectionString: path.join(root, "alias-of-inside.duckdb")
    })
    expect(viaLink.status, viaLink.text).toBe(201)
    // `..` is resolved on the text first (`dirlink/..` is the root itself), then symlinks: the file
    // checked, and opened, is `<root>/inside.duckdb`, never what the OS would make of `outside/..`.
    const dotted = await api.attach(id, {
      type: "duckdb",
      alias: "c",
      connectionString: `${root}/dirlink/../inside.duckdb`
    })
    expect(dotted.status, dotted.text).toBe(201)
    expect(
      rowsOf(await api.query(id, "SELECT (SELECT n FROM a.t) + (SELECT n FROM b.t) + (SELECT n FROM c.t)"))
    ).toEqual([[3]])
  })

  it("answers 400 for a file that is not a DuckDB database, without the server's path", async () => {
    const api = client(withRoots)
    const id = await api.createInstance()
    for (const name of ["notes.duckdb", "folder.duckdb", "missing.duckdb"]) {
      const answer = await api.attach(id, {
        type: "duckdb",
        alias: "notes",
        connectionString: path.join(root, name)
      })
      const message = expectError(answer, 400, "invalid_request")
      expect(message).toMatch(/^database "notes" could not be attached: /)
      expect(answer.text).not.toContain(base)
    }
    expect(logText(withRoots)).not.toContain(base)
    expect((await api.list(id)).body).toEqual({ databases: [] })
  })
})

describe("without duckdb.file_roots", () => {
  it("refuses every file attach through the API with 403", async () => {
    const api = client(withoutRoots)
    const id = await api.createInstance()
    for (const type of ["duckdb", "sqlite"]) {
      for (const connectionString of [insideFile, path.join(root, "missing.duckdb"), "relative.duckdb"]) {
        const answer = await api.attach(id, { type, alias: "f", connectionString })
        expect(expectError(answer, 403, "forbidden_statement")).toBe(NoFileRoots)
        expect(answer.text).not.toContain(base)
      }
    }
    expect((await api.list(id)).body).toEqual({ databases: [] })
  })
})
