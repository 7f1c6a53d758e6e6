import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
// @ts-expect-error: a plain ES module script without type declarations
import { inputs, output, staleness } from "../../scripts/build-if-stale.mjs"
import { tempDir } from "../support/Process.js"
import { readRepoFile } from "../support/RepoFiles.js"

/** `npm start` builds only when the bundle is missing or older than what it is built from. */

const dirs: Array<string> = []
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

/** A tree like the repository's: every input, and the bundle when `built`, with given ages in seconds. */
const tree = (built: boolean) => {
  const root = tempDir("start")
  dirs.push(root)
  const write = (file: string, secondsAgo: number) => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true })
    fs.writeFileSync(path.join(root, file), "x")
    const time = new Date(Date.now() - secondsAgo * 1000)
    fs.utimesSync(path.join(root, file), time, time)
  }
  for (const input of inputs as Array<string>) write(input === "src" ? "src/http/Deep.ts" : input, 60)
  if (built) write(output, 30)
  return { root, write }
}

describe("npm start", () => {
  it("runs the launcher after building only when needed", () => {
    const start = JSON.parse(readRepoFile("package.json")).scripts.start as string
    expect(start).toBe("node scripts/build-if-stale.mjs && exec sh bin/pondpilot-proxy")
    expect(inputs).toEqual(expect.arrayContaining(["src", "package-lock.json", "scripts/bundle.mjs"]))
  })

  it("builds when there is no bundle yet", () => {
    expect(staleness(tree(false).root)).toEqual([`${output} does not exist`])
  })

  it("starts from the bundle when every input is older than it", () => {
    expect(staleness(tree(true).root)).toEqual([])
  })

  it("builds when any input, however deep in src, changed after the bundle", () => {
    const { root, write } = tree(true)
    write("src/http/Deep.ts", 0)
    write("package-lock.json", 0)
    expect(staleness(root)).toEqual([
      `src/http/Deep.ts is newer than ${output}`,
      `package-lock.json is newer than ${output}`
    ])
  })
})
