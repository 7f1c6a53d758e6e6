import { describe, expect, it } from "vitest"
import { buildContext, dockerIgnore } from "./dockerReplay.js"
import { readRepoFile, repoRoot } from "./files.js"

describe("dockerIgnore", () => {
  const ignored = dockerIgnore(readRepoFile(".dockerignore"))

  it("reads this repository's .dockerignore as Docker does", () => {
    for (const file of [
      ".env",
      ".env.production",
      "certs/server.pem",
      "a/b/c.key",
      "node_modules/x/index.js"
    ])
      expect(ignored(file), file).toBe(true)
    for (const file of [
      "README.md",
      "test/ops/files.ts",
      "deploy/demo/config.yaml",
      "Dockerfile",
      ".git/HEAD"
    ])
      expect(ignored(file), file).toBe(true)
    for (const file of [
      ".env.example",
      "package.json",
      "src/main.ts",
      "bin/pondpilot-proxy",
      "scripts/install-extensions.mjs"
    ])
      expect(ignored(file), file).toBe(false)
  })

  it("anchors patterns at the root: `*.md` is a root file, `**/*.pem` any depth, and the last rule wins", () => {
    const rules = dockerIgnore("*.md\n**/*.pem\nbuild\n!build/keep.txt\n")
    expect(rules("notes.md")).toBe(true)
    expect(rules("docs/notes.md")).toBe(false)
    expect(rules("a/b/cert.pem")).toBe(true)
    expect(rules("build/out.js")).toBe(true)
    expect(rules("build/keep.txt")).toBe(false)
    expect(rules("src/build/out.js")).toBe(false)
  })
})

describe("buildContext", () => {
  it("sends what the Dockerfile copies and nothing secret", () => {
    const context = buildContext(repoRoot)
    expect(context).toEqual(
      expect.arrayContaining(["package.json", "package-lock.json", "src/main.ts", "bin/pondpilot-proxy"])
    )
    expect(context.filter((file) => /^(test|deploy|docs|node_modules|dist)\/|^\.env$/.test(file))).toEqual([])
  })
})
