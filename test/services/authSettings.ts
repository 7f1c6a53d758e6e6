import { Either } from "effect"
import { loadSettings, type Settings } from "../../src/domain/ConfigLoader.js"

/** Settings decoded by the real loader from a YAML text and an environment. */
export const settingsFrom = (yaml: string, env: Record<string, string> = {}): Settings => {
  const loaded = loadSettings({
    env: { CONFIG_FILE: "/virtual/config.yaml", ...env },
    cwd: "/",
    readFile: () => yaml
  })
  if (Either.isLeft(loaded)) throw new Error(loaded.left.join("\n"))
  return loaded.right
}
