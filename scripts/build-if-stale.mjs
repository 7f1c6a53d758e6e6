#!/usr/bin/env node
// `npm start` runs this before the launcher: it builds (tsc, then the bundle: about 12 s) only when
// the bundle is missing or older than something it is built from, so a second start is immediate.
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const output = "dist/pondpilot-proxy.mjs"
/** What the build reads: the sources (directories are walked) and the build's own configuration. */
export const inputs = [
  "src",
  "scripts/bundle.mjs",
  "package.json",
  "package-lock.json",
  "tsconfig.base.json",
  "tsconfig.build.json"
]

const files = (file) => {
  const stat = fs.statSync(file, { throwIfNoEntry: false })
  if (stat === undefined) return []
  if (!stat.isDirectory()) return [{ file, mtimeMs: stat.mtimeMs }]
  return fs.readdirSync(file).flatMap((name) => files(path.join(file, name)))
}

/** Why `root` needs a build: the bundle is missing, or the inputs newer than it; empty when it does not. */
export const staleness = (root) => {
  const built = fs.statSync(path.join(root, output), { throwIfNoEntry: false })
  if (built === undefined) return [`${output} does not exist`]
  return inputs
    .flatMap((input) => files(path.join(root, input)))
    .filter(({ mtimeMs }) => mtimeMs > built.mtimeMs)
    .map(({ file }) => `${path.relative(root, file)} is newer than ${output}`)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
  const reasons = staleness(root)
  if (reasons.length > 0) {
    const more = reasons.length > 1 ? ` (and ${reasons.length - 1} more)` : ""
    console.error(`building: ${reasons[0]}${more}`)
    execFileSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "inherit" })
  }
}
