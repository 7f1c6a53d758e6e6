import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { tempDir } from "../support/Process.js"
import { readRepoFile, repoRoot } from "../support/RepoFiles.js"
import { type RunningServer, startServer } from "../support/TestServer.js"

/**
 * `/openapi.json` as client generators and API portals take it: Redocly's linter (the CLI of
 * @redocly/cli, pinned in devDependencies) with its recommended rules reports nothing at all.
 */

const redocly = path.join(repoRoot, "node_modules/.bin/redocly")
const packageJson = JSON.parse(readRepoFile("package.json")) as { version: string; license: string }

let server: RunningServer
let dir: string
let document: Record<string, any>

beforeAll(async () => {
  server = await startServer()
  document = (await (await fetch(`${server.url}/openapi.json`)).json()) as Record<string, any>
  dir = tempDir("openapi-lint")
})
afterAll(async () => {
  await server.dispose()
  fs.rmSync(dir, { recursive: true, force: true })
})

describe("GET /openapi.json for tools", () => {
  it("carries the package's version and license, and a server relative to itself", () => {
    expect(document.info.version).toBe(packageJson.version)
    expect(document.info.license.name).toBe(packageJson.license)
    if (packageJson.license !== "UNLICENSED")
      expect(document.info.license.identifier).toBe(packageJson.license)
    expect(document.servers).toEqual([{ url: "/", description: expect.any(String) }])
  })

  it("passes Redocly's recommended rules with no error and no warning", async () => {
    const file = path.join(dir, "openapi.json")
    fs.writeFileSync(file, JSON.stringify(document))
    const result = await promisify(execFile)(
      redocly,
      [
        "lint",
        file,
        "--extends=recommended",
        "--format=json",
        // The rule wants a license's SPDX identifier or URL; the project grants none yet
        // (package.json: UNLICENSED). Once it names an SPDX license the document carries it and
        // the rule applies.
        ...(packageJson.license === "UNLICENSED" ? ["--skip-rule=info-license-strict"] : [])
      ],
      {
        cwd: dir,
        // Offline and quiet: no usage telemetry, no update check.
        env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", CI: "true" },
        maxBuffer: 16 * 1024 * 1024
      }
    ).catch((error: { stdout?: string; stderr?: string }) => error)
    const report = JSON.parse(result.stdout ?? "") as {
      totals: { errors: number; warnings: number }
      problems: Array<{ ruleId: string; message: string; location: Array<{ pointer: string }> }>
    }
    const problems = report.problems.map(
      (problem) => `${problem.ruleId} at ${problem.location[0]?.pointer}: ${problem.message}`
    )
    expect(problems).toEqual([])
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 })
  }, 60_000)
})
