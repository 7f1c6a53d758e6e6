import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { OpenApi } from "@effect/platform"

/**
 * The project's package.json: its version and license are the document's. Found by walking up from
 * this module, which runs from src/http (tests), dist/http (tsc) or dist/ (the bundle).
 */
const packageJson = ((): { readonly version: string; readonly license: string } => {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const file = path.join(dir, "package.json")
    if (fs.existsSync(file)) {
      const parsed = JSON.parse(fs.readFileSync(file, "utf8"))
      if (parsed.name === "pondpilot-proxy") return parsed
    }
    if (path.dirname(dir) === dir) throw new Error("pondpilot-proxy's package.json not found")
  }
})()

/** The document's version and license, the package's. */
export const packageInfo = {
  version: packageJson.version,
  // An SPDX expression is also the license's identifier; npm's "UNLICENSED" (no license granted) is not.
  license: (packageJson.license === "UNLICENSED"
    ? { name: packageJson.license }
    : { name: packageJson.license, identifier: packageJson.license }) as OpenApi.OpenAPISpecLicense
}
