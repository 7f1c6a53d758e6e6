import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type BrowserContext, chromium } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningServer, startServer } from "../support/TestServer.js"

/**
 * `/docs` in a real browser: Debian's headless Chromium loads the page from the in-process server
 * with every request that would leave loopback refused (and DNS answering nothing), and must render
 * the query endpoint from local assets alone.
 */

const executablePath = process.env.PONDPILOT_CHROMIUM ?? "/usr/bin/chromium"
const hasChromium = fs.existsSync(executablePath)
if (!hasChromium) {
  console.warn(
    `skipping the /docs page test: no Chromium at ${executablePath} (apt-get install chromium; .ci/run installs it)`
  )
}

const loopbackHosts = new Set(["127.0.0.1", "localhost", "[::1]"])
const leavesLoopback = (url: string): boolean => {
  const parsed = new URL(url)
  if (!["http:", "https:", "ws:", "wss:"].includes(parsed.protocol)) return false
  return !loopbackHosts.has(parsed.hostname)
}

describe.skipIf(!hasChromium)("GET /docs in headless Chromium", () => {
  let server: RunningServer
  let context: BrowserContext
  let profile: string

  beforeAll(async () => {
    server = await startServer()
    profile = fs.mkdtempSync(path.join(os.tmpdir(), "pondpilot-chromium-"))
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        // Belt and braces: even a request the route below missed resolves no name but loopback.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"
      ]
    })
  })

  afterAll(async () => {
    await context?.close()
    if (profile !== undefined) fs.rmSync(profile, { recursive: true, force: true })
    await server?.dispose()
  })

  it("renders the query endpoint from local assets, with no request leaving loopback", async () => {
    const outside: Array<string> = []
    const local: Array<string> = []
    await context.route("**/*", (route) => {
      const url = route.request().url()
      if (leavesLoopback(url)) {
        outside.push(url)
        return route.abort("blockedbyclient")
      }
      local.push(url)
      return route.continue()
    })
    const page = context.pages()[0] ?? (await context.newPage())
    const failures: Array<string> = []
    page.on("response", (response) => {
      // The browser's own favicon guess is not part of the page.
      if (response.status() >= 400 && !response.url().endsWith("/favicon.ico"))
        failures.push(`${response.status()} ${response.url()}`)
    })

    const response = await page.goto(`${server.url}/docs`, { waitUntil: "load" })
    expect(response?.status()).toBe(200)
    expect(response?.headers()["content-type"]).toMatch(/^text\/html/)

    // Rendered by Scalar's script into the page, not merely present in the embedded JSON document.
    const endpoint = page.getByText("/v1/instances/{id}/query", { exact: true }).first()
    await endpoint.waitFor({ state: "attached", timeout: 30_000 })
    await endpoint.scrollIntoViewIfNeeded()
    expect(await endpoint.isVisible()).toBe(true)
    expect(await endpoint.evaluate((element) => element.closest("script") === null)).toBe(true)
    await expect
      .poll(() => page.getByText("PondPilot Proxy", { exact: true }).first().isVisible(), { timeout: 10_000 })
      .toBe(true)
    // Give late requests (fonts, telemetry) a moment to show themselves.
    await page.waitForLoadState("networkidle")

    // Offline-only: no toolbar with Scalar's online services (sharing, SDK generation).
    expect(await page.locator(".api-reference-toolbar").count()).toBe(0)
    for (const online of ["Share", "Generate SDKs"])
      expect(await page.getByText(online, { exact: true }).count(), online).toBe(0)
    // The API-key scheme is selected, so samples carry the key's header; none has an empty header.
    expect(await page.getByText("Selected Auth Type:").count()).toBeGreaterThan(0)
    const curlSamples = async () =>
      (await page.locator("pre, code").allInnerTexts()).filter((text) => text.includes("curl"))
    // Scalar renders sections as they come into view: open an authenticated one from the sidebar.
    await page.getByText("instances", { exact: true }).first().click()
    await page.getByText("List instances", { exact: true }).first().click()
    await expect
      .poll(async () => (await curlSamples()).join("\n"), { timeout: 20_000 })
      .toMatch(/curl http:\S+\/v1\/instances \\\n(.*\n)*\s*--header 'X-API-Key: /)
    const samples = await curlSamples()
    for (const sample of samples) expect(sample).not.toMatch(/--header '[A-Za-z-]+: '/)

    expect(outside).toEqual([])
    expect(failures).toEqual([])
    expect(local.length).toBeGreaterThan(0)
    expect(local.every((url) => url.startsWith(server.url) || !/^https?:/.test(url))).toBe(true)
  }, 90_000)
})
