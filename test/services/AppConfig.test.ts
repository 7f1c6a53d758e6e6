import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Logger, Redacted } from "effect"
import { vi } from "vitest"
import { AppConfig, announceGeneratedKeys, ConfigError } from "../../src/services/AppConfig.js"
import { settingsOf } from "../support/ConfigFiles.js"

const tempDirs: Array<string> = []
const configFile = (text: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pondpilot-config-"))
  tempDirs.push(dir)
  const file = path.join(dir, "config.yaml")
  fs.writeFileSync(file, text)
  return file
}

/** Runs `effect` and returns what it logged, one entry per log call. */
const logged = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const messages: Array<{ level: string; message: unknown }> = []
    const logger = Logger.make(({ logLevel, message }) => {
      messages.push({ level: logLevel.label, message: Array.isArray(message) ? message.join(" ") : message })
    })
    yield* Effect.provide(effect, Logger.replace(Logger.defaultLogger, logger))
    return messages
  })

afterEach(() => {
  vi.restoreAllMocks()
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

describe("AppConfig.fromEnvironment", () => {
  it.effect("reads CONFIG_FILE from disk", () =>
    Effect.gen(function* () {
      const file = configFile("server:\n  port: 4321\n")
      const settings = yield* AppConfig.fromEnvironment({ CONFIG_FILE: file })
      expect(settings.server.port).toBe(4321)
      expect(settings.configDir).toBe(path.dirname(file))
    })
  )

  it.effect("fails with a ConfigError holding one line per problem", () =>
    Effect.gen(function* () {
      const file = configFile("server:\n  prot: 1\n  read_timeout: soon\n")
      const exit = yield* Effect.exit(AppConfig.fromEnvironment({ CONFIG_FILE: file }))
      const problems = [
        "server.prot: unknown key",
        "server.read_timeout: not a duration (use e.g. 500ms, 30s, 10m, 1h)"
      ]
      expect(exit).toEqual(Exit.fail(new ConfigError({ problems })))
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        expect(exit.cause.error.message).toBe(problems.join("\n"))
      }
    })
  )

  it.effect("fails naming the path it tried and why, when CONFIG_FILE cannot be read", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        AppConfig.fromEnvironment({ CONFIG_FILE: "/nonexistent/hidden-dir/c.yaml" })
      )
      expect(exit).toEqual(
        Exit.fail(
          new ConfigError({
            problems: ["CONFIG_FILE: cannot read /nonexistent/hidden-dir/c.yaml: no such file"]
          })
        )
      )
      const directory = yield* Effect.exit(AppConfig.fromEnvironment({ CONFIG_FILE: os.tmpdir() }))
      expect(directory).toEqual(
        Exit.fail(
          new ConfigError({ problems: [`CONFIG_FILE: cannot read ${os.tmpdir()}: it is a directory`] })
        )
      )
    })
  )

  it.effect("layerWith provides the given settings", () =>
    Effect.gen(function* () {
      const settings = settingsOf("server:\n  port: 1111")
      const provided = yield* Effect.provide(AppConfig, Layer.fresh(AppConfig.layerWith(settings)))
      expect(provided).toBe(settings)
    })
  )
})

describe("announceGeneratedKeys", () => {
  it.effect("prints a generated API key once to stderr and warns about an ephemeral encryption key", () =>
    Effect.gen(function* () {
      const written: Array<string> = []
      vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk))
        return true
      })
      const settings = settingsOf(undefined)
      const messages = yield* logged(announceGeneratedKeys(settings))
      const output = written.join("")
      expect(output).toContain(Redacted.value(settings.secrets.apiKeys[0]!))
      expect(output).toContain("X-API-Key")
      expect(output).not.toContain(Redacted.value(settings.secrets.encryptionKey))
      expect(messages).toHaveLength(1)
      expect(messages[0]!.level).toBe("WARN")
      expect(String(messages[0]!.message)).toContain("ENCRYPTION_KEY is not set")
      expect(JSON.stringify(messages)).not.toContain(Redacted.value(settings.secrets.encryptionKey))
    })
  )

  it.effect("says nothing about keys that were configured", () =>
    Effect.gen(function* () {
      const write = vi.spyOn(process.stderr, "write").mockImplementation(() => true)
      const settings = settingsOf(undefined, { API_KEY: "configured", ENCRYPTION_KEY: "k".repeat(32) })
      expect(yield* logged(announceGeneratedKeys(settings))).toEqual([])
      expect(write).not.toHaveBeenCalled()
    })
  )

  it.effect("warns about a short ENCRYPTION_KEY outside production", () =>
    Effect.gen(function* () {
      vi.spyOn(process.stderr, "write").mockImplementation(() => true)
      const settings = settingsOf(undefined, { API_KEY: "configured", ENCRYPTION_KEY: "short" })
      const messages = yield* logged(announceGeneratedKeys(settings))
      expect(messages.map((entry) => entry.level)).toEqual(["WARN"])
      expect(JSON.stringify(messages)).not.toContain('"short"')
    })
  )
})
