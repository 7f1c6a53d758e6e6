import { Either } from "effect"
import { loadSettings, type Settings } from "../../src/domain/ConfigLoader.js"

export const cwd = "/srv/pondpilot"
export const configPath = `${cwd}/config.yaml`

/** loadSettings over an in-memory file system: `yaml` is the file at CONFIG_FILE, none when undefined. */
export const load = (yaml: string | undefined, env: Record<string, string> = {}) =>
  loadSettings({
    env: yaml === undefined ? env : { CONFIG_FILE: "config.yaml", ...env },
    cwd,
    readFile: (file) => (file === configPath ? yaml : undefined)
  })

export const problemsOf = (
  yaml: string | undefined,
  env: Record<string, string> = {}
): ReadonlyArray<string> =>
  Either.match(load(yaml, env), {
    onLeft: (problems) => problems,
    onRight: () => {
      throw new Error("expected the configuration to be refused")
    }
  })

export const settingsOf = (yaml: string | undefined, env: Record<string, string> = {}): Settings =>
  Either.getOrElse(load(yaml, env), (problems) => {
    throw new Error(`expected a valid configuration, got:\n${problems.join("\n")}`)
  })

/** A YAML document, one argument per line (plain strings, so that `${VAR}` needs no escaping). */
export const lines = (...text: ReadonlyArray<string>): string => text.join("\n")
