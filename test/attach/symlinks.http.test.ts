import * as fs from "node:fs"
import * as path from "node:path"
import { Effect, Exit } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { checkFileAttach, NotUnderFileRoots, resolveThroughSymlinks } from "../../src/attach/FilePolicy.js"
import { tempRoot } from "../support/Databases.js"

/** Symlinks `fs.realpath` cannot resolve: dangling ones and loops (FilePolicy follows them by hand). */
let base: string
let root: string

beforeAll(() => {
  base = tempRoot("symlinks")
  root = path.join(base, "root")
  fs.mkdirSync(path.join(root, "sub"), { recursive: true })
  fs.mkdirSync(path.join(base, "outside"))
  fs.symlinkSync(path.join(base, "outside", "later.duckdb"), path.join(root, "dangling-out.duckdb"))
  fs.symlinkSync("sub/later.duckdb", path.join(root, "dangling-in.duckdb"))
  fs.symlinkSync("../../outside/x.duckdb", path.join(root, "sub", "relative-out.duckdb"))
  fs.symlinkSync(path.join(base, "outside", "gone"), path.join(root, "dangling-dir"))
  fs.symlinkSync(path.join(root, "loop-b"), path.join(root, "loop-a"))
  fs.symlinkSync(path.join(root, "loop-a"), path.join(root, "loop-b"))
})

const check = async (p: string, source: "api" | "config" = "api") => {
  const exit = await Effect.runPromiseExit(checkFileAttach({ type: "duckdb", path: p }, source, [root]))
  return Exit.match(exit, {
    onSuccess: (allowed) => ({ ok: allowed.path }),
    onFailure: (cause) => ({ refused: cause._tag === "Fail" ? cause.error.message : "defect" })
  })
}

describe("FilePolicy with symlinks realpath cannot resolve", () => {
  it("follows a dangling symlink to where it points", async () => {
    const out = path.join(base, "outside", "later.duckdb")
    expect(await Effect.runPromise(resolveThroughSymlinks(path.join(root, "dangling-out.duckdb")))).toBe(out)
    expect(await check(path.join(root, "dangling-out.duckdb"))).toEqual({ refused: NotUnderFileRoots })
    expect(await check(path.join(root, "sub", "relative-out.duckdb"))).toEqual({ refused: NotUnderFileRoots })
    expect(await check(path.join(root, "dangling-dir", "a", "b.duckdb"))).toEqual({
      refused: NotUnderFileRoots
    })
    // Inside the roots it is admitted, and the path to open is the target, not the link.
    expect(await check(path.join(root, "dangling-in.duckdb"))).toEqual({
      ok: path.join(root, "sub", "later.duckdb")
    })
    // The config may name any path: it gets the target too.
    expect(await check(path.join(root, "dangling-out.duckdb"), "config")).toEqual({ ok: out })
  })

  it("refuses a symlink loop through the API, and leaves it to DuckDB for the config", async () => {
    expect(await Effect.runPromise(resolveThroughSymlinks(path.join(root, "loop-a")))).toBeUndefined()
    expect(await check(path.join(root, "loop-a"))).toEqual({ refused: NotUnderFileRoots })
    expect(await check(path.join(root, "loop-a"), "config")).toEqual({ ok: path.join(root, "loop-a") })
  })
})
