import * as fs from "node:fs"
import { Context, Data, Effect, Either, Layer, Redacted } from "effect"
import { loadSettings, type Settings } from "../domain/ConfigLoader.js"
import { settingsProblems } from "./ConfigChecks.js"

export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly problems: ReadonlyArray<string>
}> {
  override get message() {
    return this.problems.join("\n")
  }
}

const unreadable: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EISDIR: "it is a directory",
  ENOTDIR: "a part of the path is not a directory"
}

const readFile = (file: string): string | { readonly unreadable: string } => {
  try {
    return fs.readFileSync(file, "utf8")
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? ""
    return { unreadable: unreadable[code] ?? (code || "unreadable") }
  }
}

/** The server's configuration, decoded once at start from `CONFIG_FILE` and the environment. */
export class AppConfig extends Context.Tag("pondpilot/AppConfig")<AppConfig, Settings>() {
  static readonly fromEnvironment = (env: Readonly<Record<string, string | undefined>>) =>
    Effect.suspend(() =>
      Either.match(loadSettings({ env, cwd: process.cwd(), readFile, check: settingsProblems }), {
        onLeft: (problems) => Effect.fail(new ConfigError({ problems })),
        onRight: Effect.succeed
      })
    )

  static readonly layer = Layer.effect(AppConfig, AppConfig.fromEnvironment(process.env))

  static readonly layerWith = (settings: Settings) => Layer.succeed(AppConfig, settings)
}

/** What an operator must hear about generated keys, said once at start. */
export const announceGeneratedKeys = (settings: Settings): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (settings.generated.apiKey) {
      // Printed to stderr, outside the JSON log stream, and only for a development server.
      yield* Effect.sync(() =>
        process.stderr.write(
          `\nDevelopment API key (generated, valid until restart): ${Redacted.value(settings.secrets.apiKeys[0]!)}\n` +
            `Send it as the ${settings.security.authentication.api_key_header} header. Set API_KEY to choose your own.\n\n`
        )
      )
    }
    if (settings.generated.encryptionKey) {
      yield* Effect.logWarning(
        "ENCRYPTION_KEY is not set: using an ephemeral key; encrypted connection strings will not survive a restart"
      )
    } else if (Redacted.value(settings.secrets.encryptionKey).length < 32) {
      yield* Effect.logWarning("ENCRYPTION_KEY is shorter than 32 characters; production refuses such a key")
    }
  })
