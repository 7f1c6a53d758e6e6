import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { anchorsOf, linksOf } from "../support/Markdown.js"
import { readRepoFile, repoRoot } from "../support/RepoFiles.js"

/**
 * Every page a reader of a clone gets: each relative link lands on a file of the repository and each
 * `#anchor` on a heading there (as GitHub renders it); the only other links are public web pages.
 */

const skipped = new Set(["node_modules", "dist", ".git", "coverage"])
const markdownFiles = (dir = ""): Array<string> =>
  fs.readdirSync(path.join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.posix.join(dir, entry.name)
    if (entry.isDirectory()) return skipped.has(entry.name) ? [] : markdownFiles(relative)
    return entry.name.endsWith(".md") ? [relative] : []
  })

const pages = markdownFiles()
const anchors = new Map(pages.map((page) => [page, anchorsOf(readRepoFile(page))]))

/** Not a public web page: loopback, private and link-local addresses, local names. */
const localHost =
  /^(?:localhost|.*\.(?:local|internal|localhost)|127\.\d+\.\d+\.\d+|0\.0\.0\.0|10\.\d+\.\d+\.\d+|192\.168\.\d+\.\d+|172\.(?:1[6-9]|2\d|3[01])\.\d+\.\d+|169\.254\.\d+\.\d+|\[.*\])$/

describe("links in the documentation", () => {
  it("covers the README, CONTRIBUTING.md and every page under docs/", () => {
    expect(pages).toEqual(expect.arrayContaining(["README.md", "CONTRIBUTING.md", "docs/api.md"]))
    expect(pages.filter((page) => page.startsWith("docs/")).length).toBeGreaterThanOrEqual(10)
  })

  for (const page of pages) {
    it(`${page}: every link resolves`, () => {
      const links = linksOf(readRepoFile(page))
      for (const link of links) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(link)) {
          const url = new URL(link)
          expect(["https:", "http:"], `${page}: ${link}`).toContain(url.protocol)
          expect(url.hostname, `${page}: ${link}`).not.toMatch(localHost)
          continue
        }
        const [file, anchor] = link.split("#") as [string, string | undefined]
        const target =
          file === "" ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file))
        expect(
          target.startsWith("../") || path.isAbsolute(target),
          `${page}: ${link} leaves the repository`
        ).toBe(false)
        expect(fs.existsSync(path.join(repoRoot, target)), `${page}: ${link} (no ${target})`).toBe(true)
        if (anchor !== undefined) {
          expect(anchors.has(target), `${page}: ${link} (an anchor into a page that is not Markdown)`).toBe(
            true
          )
          expect([...anchors.get(target)!], `${page}: ${link}`).toContain(decodeURIComponent(anchor))
        }
      }
    })
  }

  it("names only files of the repository in code spans", () => {
    const named = pages.flatMap((page) =>
      [
        ...readRepoFile(page).matchAll(
          /`((?:src|test|deploy|scripts|bin|bench|docs|\.ci)\/[^`\s*<>{}…]+|\.env\.example|Dockerfile|\.dockerignore|docker-compose(?:\.scale)?\.yaml|vitest(?:\.image)?\.config\.ts)`/g
        )
      ].map((match) => ({ page, file: match[1]!.replace(/[:,.]$/, "") }))
    )
    expect(named.length).toBeGreaterThan(30)
    // What a run writes (bench/results/) is named before it exists.
    const generated = readRepoFile(".gitignore")
      .split("\n")
      .filter((line) => line.endsWith("/") && !line.startsWith("/"))
    const missing = named.filter(
      ({ page, file }) =>
        !generated.some((dir) => file.startsWith(dir)) &&
        ![file, path.posix.join(path.posix.dirname(page), file)].some((candidate) =>
          fs.existsSync(path.join(repoRoot, candidate))
        )
    )
    expect(missing).toEqual([])
  })
})
