import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { settingsOf } from "../support/ConfigFiles.js"
import { codeBlocksOf, linksOf, readDoc } from "../support/Markdown.js"
import { readRepoFile, repoRoot } from "../support/RepoFiles.js"

/** The README is the front door: what it is, how to start, a first session, where to go next. */

const readme = readRepoFile("README.md")
const scripts = JSON.parse(readRepoFile("package.json")).scripts as Record<string, string>

describe("README.md", () => {
  it("stays short: everything else lives under docs/ and in CONTRIBUTING.md", () => {
    expect(readme.split("\n").length).toBeLessThanOrEqual(250)
  })

  it("starts the server and runs the tests with the two commands package.json defines", () => {
    const quickStart = codeBlocksOf(readDoc("README.md", "Quick start", true), "sh")
    expect(quickStart).toEqual(["npm install && npm start\n", "npm install && npm test\n"])
    expect(scripts).toHaveProperty("start")
    expect(scripts).toHaveProperty("test")
    const { server } = settingsOf(undefined)
    expect(readme).toContain(`\`http://${server.host}:${server.port}\``)
  })

  it("points to every page under docs/ and to CONTRIBUTING.md from its table of contents", () => {
    const next = linksOf(readDoc("README.md", "Where to go next"))
    const pages = fs
      .readdirSync(path.join(repoRoot, "docs"))
      .filter((file) => file.endsWith(".md"))
      .map((file) => `docs/${file}`)
    expect(next.sort()).toEqual([...pages, "CONTRIBUTING.md"].sort())
  })
})
