import type { TestProject } from "vitest/node"
import { buildImage, ensureWheels } from "./build.js"
import { ensureCacheDir, missingRuntime } from "./podman.js"
import { ensureStandin } from "./standin.js"

/**
 * The image tier's set-up, once per run: the base stand-in (cached), then the project's image from
 * its Dockerfile (podman's layer cache makes an unchanged rebuild quick). Without a container
 * runtime the tier skips with one line, except under CI=true, where it fails with the reason.
 */

declare module "vitest" {
  export interface ProvidedContext {
    image: { readonly tag: string; readonly base: string } | { readonly skip: string }
  }
}

const log = (line: string) => process.stdout.write(`${line}\n`)

export default async function setup(project: TestProject) {
  const missing = missingRuntime()
  if (missing !== undefined) {
    if (process.env.CI === "true") throw new Error(`image tests cannot run in CI: ${missing}`)
    log(`SKIP image tests: ${missing}`)
    project.provide("image", { skip: missing })
    return
  }
  ensureCacheDir()
  const base = await ensureStandin(log)
  const wheels = await ensureWheels(log)
  const built = await buildImage(base, wheels, log)
  log(`image tests: ${built.tag} built in ${Math.round(built.seconds)} s`)
  project.provide("image", { tag: built.tag, base })
}
