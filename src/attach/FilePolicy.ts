import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect } from "effect"
import { ForbiddenStatement } from "../domain/Errors.js"
import type { AttachSource, FileConnection } from "./ConnectionStrings.js"

/**
 * Which SQLite/DuckDB files an attach may open (security.md §5).
 *
 * An API attach must resolve, after `..` and symlinks, under one of `duckdb.file_roots`. Whether the
 * file exists never changes the answer or its message, so the API cannot probe the server's disk.
 * The config file may name any path. The path to attach is the resolved one, so what was checked is
 * what DuckDB opens; a symlink swapped between the check and the attach is the residual risk (keep
 * file roots writable only by the operator).
 */

export interface AllowedFile {
  readonly type: FileConnection["type"]
  /** The resolved path to attach. */
  readonly path: string
  /** For DuckDB's `allowed_paths`: the file and the side files its engine may open. */
  readonly allowedPaths: ReadonlyArray<string>
}

export const NotUnderFileRoots = "the file is not under any of the server's file roots (duckdb.file_roots)"
export const NoFileRoots = "attaching files through the API is disabled: the server has no duckdb.file_roots"

const forbidden = (message: string) => new ForbiddenStatement({ message })

export const allowedPathsFor = (type: FileConnection["type"], file: string): ReadonlyArray<string> =>
  type === "duckdb" ? [file, `${file}.wal`] : [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]

const realpathOrUndefined = (p: string) =>
  Effect.promise(() =>
    fs.realpath(p).then(
      (real) => real,
      () => undefined
    )
  )

const readlinkOrUndefined = (p: string) =>
  Effect.promise(() =>
    fs.readlink(p).then(
      (target) => target,
      () => undefined
    )
  )

/** Symlinks followed by hand before giving up, as the kernel's ELOOP limit does. */
const MaxSymlinkHops = 40

/**
 * `fs.realpath` of the path, or of its nearest existing ancestor with the rest appended; undefined for
 * a symlink loop.
 *
 * A dangling symlink is followed by hand (`realpath` fails on it): the path returned is where it
 * points, so the roots are checked against, and DuckDB opens, the target. Treating the link itself as
 * the file would admit a link pointing out of the roots and answer "does not exist" for it, telling the
 * client whether a file outside the roots exists; and DuckDB would follow the link to whatever is
 * created there later.
 */
export const resolveThroughSymlinks = (absolute: string): Effect.Effect<string | undefined> =>
  Effect.gen(function* () {
    let current = path.resolve(absolute)
    let rest: Array<string> = []
    const below = () => [...rest].reverse()
    for (let hops = 0; ; ) {
      const real = yield* realpathOrUndefined(current)
      if (real !== undefined) return rest.length === 0 ? real : path.join(real, ...below())
      const target = yield* readlinkOrUndefined(current)
      if (target !== undefined) {
        if (++hops > MaxSymlinkHops) return undefined
        // The link exists, so its directory does: resolve its target from the directory's real path.
        const directory = path.dirname(current)
        const realDirectory = (yield* realpathOrUndefined(directory)) ?? directory
        current = path.resolve(realDirectory, target, ...below())
        rest = []
        continue
      }
      const parent = path.dirname(current)
      if (parent === current) return path.join(current, ...below())
      rest.push(path.basename(current))
      current = parent
    }
  })

/** Resolves configured roots (relative to `baseDir`); roots that do not exist are left out. */
export const resolveFileRoots = (
  roots: ReadonlyArray<string>,
  baseDir: string
): Effect.Effect<ReadonlyArray<string>> =>
  Effect.forEach(roots, (root) => realpathOrUndefined(path.resolve(baseDir, root))).pipe(
    Effect.map((resolved) => resolved.filter((root): root is string => root !== undefined))
  )

const isUnder = (file: string, root: string): boolean => {
  const prefix = root.endsWith(path.sep) ? root : root + path.sep
  return file.startsWith(prefix)
}

/**
 * Checks a file attach. `resolvedRoots` come from `resolveFileRoots` (resolve them once, at start).
 * Config attaches pass whatever they name, resolved the same way so `allowed_paths` match.
 */
export const checkFileAttach = (
  connection: FileConnection,
  source: AttachSource,
  resolvedRoots: ReadonlyArray<string>
): Effect.Effect<AllowedFile, ForbiddenStatement> =>
  Effect.gen(function* () {
    if (source === "api" && resolvedRoots.length === 0) return yield* Effect.fail(forbidden(NoFileRoots))
    const followed = yield* resolveThroughSymlinks(connection.path)
    if (
      source === "api" &&
      (followed === undefined || !resolvedRoots.some((root) => isUnder(followed, root)))
    ) {
      return yield* Effect.fail(forbidden(NotUnderFileRoots))
    }
    // A symlink loop in the config's own path: DuckDB's error on opening it says so.
    const resolved = followed ?? connection.path
    return { type: connection.type, path: resolved, allowedPaths: allowedPathsFor(connection.type, resolved) }
  })
