import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { Config, ConfigError, ConfigProvider, ConfigProviderPathPatch, Effect, HashSet } from "effect"
import { loadSettings } from "../../src/domain/ConfigLoader.js"
import { configPath, cwd } from "./ConfigFiles.js"
import { readRepoFile, repoRoot } from "./RepoFiles.js"

/**
 * The environment variables the server and its launcher read, found by what they do: the config
 * loader run over an environment that records each name asked for, every exported Effect `Config`
 * run against a provider that does the same, and the launcher's `${NAME:-default}` declarations.
 */

/** Configurations that between them take every path of the loader (production, jwt, tracing, Redis). */
const loaderConfigs = [
  undefined,
  "environment: production",
  "security:\n  authentication:\n    type: jwt",
  "tracing:\n  enabled: true",
  "state:\n  redis_url: redis://localhost:6379"
]

/** The names the config loader asks its environment for. */
export const variablesTheLoaderReads = (): Set<string> => {
  const read = new Set<string>()
  const recording = (env: Record<string, string>): Record<string, string> =>
    new Proxy(env, {
      get: (target, name) => {
        if (typeof name !== "string") return undefined
        read.add(name)
        return target[name]
      }
    })
  for (const yaml of loaderConfigs) {
    for (const secrets of [{ API_KEY: "k", ENCRYPTION_KEY: "e".repeat(32) }, {}]) {
      const file = yaml === undefined ? {} : { CONFIG_FILE: "config.yaml" }
      loadSettings({
        env: recording({ ...file, ...secrets }),
        cwd,
        readFile: (candidate) => (candidate === configPath ? yaml : undefined)
      })
    }
  }
  return read
}

const sourceModules = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceModules(full)
    return entry.name.endsWith(".ts") ? [full] : []
  })

/** The names every exported Effect `Config` of the source asks its provider for. */
export const variablesTheConfigsRead = async (): Promise<Set<string>> => {
  const read = new Set<string>()
  const provider = ConfigProvider.fromFlat(
    ConfigProvider.makeFlat({
      load: (names) => {
        read.add([...names].join("_"))
        return Effect.fail(ConfigError.MissingData([...names], "recorded"))
      },
      enumerateChildren: () => Effect.succeed(HashSet.empty()),
      patch: ConfigProviderPathPatch.empty
    })
  )
  // src/main.ts starts the server when imported; everything else only declares.
  const main = path.join(repoRoot, "src/main.ts")
  for (const file of sourceModules(path.join(repoRoot, "src")).filter((file) => file !== main)) {
    const module: Record<string, unknown> = await import(pathToFileURL(file).href)
    for (const value of Object.values(module)) {
      if (Config.isConfig(value))
        await Effect.runPromise(Effect.either(Effect.withConfigProvider(value, provider)))
    }
  }
  return read
}

/** The variables the launcher takes from its environment (`${NAME:-default}`, `${NAME}`). */
export const variablesTheLauncherReads = (): Set<string> =>
  new Set(
    [...readRepoFile("bin/pondpilot-proxy").matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((match) => match[1]!)
  )

export const variablesTheServerReads = async (): Promise<Set<string>> =>
  new Set([
    ...variablesTheLoaderReads(),
    ...(await variablesTheConfigsRead()),
    ...variablesTheLauncherReads()
  ])
