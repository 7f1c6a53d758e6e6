import { execFile, execFileSync } from "node:child_process"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { codeBlocksOf, readDoc } from "../support/Markdown.js"
import {
  ensureBuilt,
  freePort,
  type ServerProcess,
  spawnServer,
  waitUntilHealthy
} from "../support/Process.js"

/**
 * The README's first session, run as written by bash, curl and jq against the built server started
 * as `npm start` starts it (no config file: development mode and a generated key), and the API
 * page's parameters example after it. Only the key the reader pastes and the port differ.
 */

/** The first ```sh block of a page's section. */
const shellBlock = (page: string, heading: string): string => {
  const block = codeBlocksOf(readDoc(page, heading), "sh")[0]
  expect(block, `a sh block under ${heading} in ${page}`).toBeDefined()
  return block!
}

const missing = ["bash", "curl", "jq"].filter((tool) => {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" })
    return false
  } catch {
    return true
  }
})
if (missing.length > 0) console.warn(`skipping the README session: ${missing.join(", ")} not installed`)

describe.skipIf(missing.length > 0)("README: A first session, as written", () => {
  let server: ServerProcess
  let key: string

  beforeAll(async () => {
    ensureBuilt()
    const port = await freePort()
    server = spawnServer("sh", ["bin/pondpilot-proxy"], { env: { PORT: String(port) }, port })
    await waitUntilHealthy(server)
    key = /Development API key \(generated, valid until restart\): (ppk_dev_\S+)/.exec(server.stderr())![1]!
  }, 60_000)
  afterAll(() => server?.stop())

  /** Runs a README block with the printed key pasted in and the server's port, as `bash -e`. */
  const run = async (block: string): Promise<string> => {
    const script = block
      .replace(/^KEY=ppk_dev_\.\.\./m, `KEY=${key}`)
      .replaceAll("http://127.0.0.1:8080", server.url)
    const { stdout } = await promisify(execFile)("bash", ["-e", "-o", "pipefail", "-c", script], {
      env: { PATH: process.env.PATH ?? "" }
    })
    return stdout
  }

  it("creates an instance, queries it, as CSV with parameters, deletes it; again and again, never throttled", async () => {
    const session = shellBlock("README.md", "A first session")
    expect(session).toMatch(/^KEY=ppk_dev_\.\.\./m)
    // The answer the README shows, with today's date in place of the one it was written on.
    const shown = JSON.parse(
      [...session.matchAll(/^# ?( ?[{"].*)$/gm)].map((match) => match[1]).join("")
    ) as { rows: Array<Array<unknown>> }
    const today = new Date().toISOString().slice(0, 10)
    const expected = { ...shown, rows: [[shown.rows[0]![0], today]] }
    // Three sessions in a row: twelve requests within seconds, beyond production's burst of 10.
    for (let i = 0; i < 3; i++) {
      const output = await run(session)
      const end = output.indexOf("}n\r\n") + 1
      expect(JSON.parse(output.slice(0, end))).toEqual(expected)
      expect(output.slice(end)).toBe("n\r\n0\r\n1\r\n2\r\n")
    }
  }, 60_000)

  it("binds parameters as the API page's Parameters section shows, with the session's KEY", async () => {
    const block = shellBlock("docs/api.md", "Parameters")
    const output = await run(`KEY=ppk_dev_...\n${block}`)
    const shown = /^# (\{.*\})$/m.exec(block)![1]!
    const answer = JSON.parse(output) as Record<string, unknown>
    const { columns: _, ...rest } = JSON.parse(shown.replace('"columns":[…],', ""))
    expect(answer).toMatchObject(rest)
  }, 30_000)
})
