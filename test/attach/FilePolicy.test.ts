import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Exit } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { FileConnection } from "../../src/attach/ConnectionStrings.js"
import {
  allowedPathsFor,
  checkFileAttach,
  NoFileRoots,
  NotUnderFileRoots,
  resolveFileRoots,
  resolveThroughSymlinks
} from "../../src/attach/FilePolicy.js"

let base: string
let root: string
let roots: ReadonlyArray<string>

beforeAll(async () => {
  // realpath: the temp dir itself may sit behind a symlink (macOS /var → /private/var).
  base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "pp-files-")))
  root = path.join(base, "root")
  fs.mkdirSync(path.join(root, "sub"), { recursive: true })
  fs.mkdirSync(path.join(base, "outside"))
  fs.writeFileSync(path.join(root, "sub", "in.duckdb"), "")
  fs.writeFileSync(path.join(base, "outside", "secret.duckdb"), "")
  fs.symlinkSync(path.join(base, "outside"), path.join(root, "escape"))
  fs.symlinkSync(path.join(base, "outside", "secret.duckdb"), path.join(root, "link.duckdb"))
  fs.symlinkSync(path.join(root, "sub"), path.join(base, "root-alias"))
  roots = await Effect.runPromise(resolveFileRoots(["root", "does-not-exist"], base))
})
afterAll(() => fs.rmSync(base, { recursive: true, force: true }))

const duckdbFile = (p: string): FileConnection => ({ type: "duckdb", path: p })

const outcome = async (p: string, source: "api" | "config" = "api", withRoots = roots) => {
  const exit = await Effect.runPromiseExit(checkFileAttach(duckdbFile(p), source, withRoots))
  return Exit.match(exit, {
    onSuccess: (allowed) => ({ ok: allowed.path }),
    onFailure: (cause) => ({ refused: cause._tag === "Fail" ? cause.error.message : "defect" })
  })
}

describe("FilePolicy", () => {
  it("resolves roots, leaving out those that do not exist", () => {
    expect(roots).toEqual([root])
  })

  it("admits files under a root, existing or not, and returns the resolved path", async () => {
    expect(await outcome(path.join(root, "sub", "in.duckdb"))).toEqual({
      ok: path.join(root, "sub", "in.duckdb")
    })
    expect(await outcome(path.join(root, "sub", "new", "later.duckdb"))).toEqual({
      ok: path.join(root, "sub", "new", "later.duckdb")
    })
    // A symlink that points into a root is fine: what counts is where it lands.
    expect(await outcome(path.join(base, "root-alias", "in.duckdb"))).toEqual({
      ok: path.join(root, "sub", "in.duckdb")
    })
  })

  it("refuses escapes by .., by symlinked directories and by symlinked files, with one message", async () => {
    const attempts = [
      path.join(root, "..", "outside", "secret.duckdb"),
      path.join(root, "escape", "secret.duckdb"),
      path.join(root, "escape", "no-such.duckdb"),
      path.join(root, "link.duckdb"),
      "/etc/passwd",
      "/no/such/file.duckdb",
      root,
      `${root}-sibling/x.duckdb`
    ]
    for (const attempt of attempts) {
      expect(await outcome(attempt)).toEqual({ refused: NotUnderFileRoots })
    }
    expect(NotUnderFileRoots).not.toMatch(/exist/)
  })

  it("refuses every API file attach when no roots are configured", async () => {
    expect(await outcome(path.join(root, "sub", "in.duckdb"), "api", [])).toEqual({ refused: NoFileRoots })
  })

  it("lets the config file name any path", async () => {
    expect(await outcome(path.join(base, "outside", "secret.duckdb"), "config", [])).toEqual({
      ok: path.join(base, "outside", "secret.duckdb")
    })
    expect(await outcome(path.join(root, "link.duckdb"), "config", [])).toEqual({
      ok: path.join(base, "outside", "secret.duckdb")
    })
  })

  it("resolves through the nearest existing ancestor", async () => {
    expect(await Effect.runPromise(resolveThroughSymlinks(path.join(root, "escape", "a", "b.db")))).toBe(
      path.join(base, "outside", "a", "b.db")
    )
  })

  it("lists the side files DuckDB's allowed_paths needs", () => {
    expect(allowedPathsFor("duckdb", "/d/x.duckdb")).toEqual(["/d/x.duckdb", "/d/x.duckdb.wal"])
    expect(allowedPathsFor("sqlite", "/d/x.db")).toEqual([
      "/d/x.db",
      "/d/x.db-wal",
      "/d/x.db-shm",
      "/d/x.db-journal"
    ])
  })
})
