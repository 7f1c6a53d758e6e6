import { randomBytes } from "node:crypto"
import * as path from "node:path"
import { Array as Arr, Either, Option, ParseResult, Redacted, Schema } from "effect"
import { LineCounter, parseDocument } from "yaml"
import { ConfigFile, duplicateAlias, withEnvironmentDefaults } from "./Config.js"
import { type TraceExport, traceExportOf, traceProblems } from "./TraceSettings.js"

/** The decoded configuration plus what only the environment may hold. */
export interface Settings extends ConfigFile {
  readonly secrets: {
    readonly apiKeys: ReadonlyArray<Redacted.Redacted<string>>
    readonly encryptionKey: Redacted.Redacted<string>
    readonly jwtSecret: Option.Option<Redacted.Redacted<string>>
  }
  /** Keys made up because none was configured (development only); the launcher announces them. */
  readonly generated: { readonly apiKey: boolean; readonly encryptionKey: boolean }
  /** Where spans go (the `tracing` keys and the OTEL_* variables); undefined when tracing is off. */
  readonly traces: TraceExport | undefined
  /** Relative file paths in the config file resolve against this directory. */
  readonly configDir: string
  readonly configFile: Option.Option<string>
}

export interface LoadInput {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  /** Returns the file's text, or why it cannot be read (undefined when the reason is unknown). */
  readonly readFile: (file: string) => string | undefined | { readonly unreadable: string }
  /** Checks beyond the schema (src/services/ConfigChecks.ts), run on decoded settings. */
  readonly check?: (settings: Settings) => Problems
}

/** One line per problem, each starting with the path of the key it is about. */
export type Problems = ReadonlyArray<string>

const formatPath = (segments: ReadonlyArray<PropertyKey>): string =>
  segments.reduce<string>(
    (out, segment) =>
      typeof segment === "number"
        ? `${out}[${segment}]`
        : out === ""
          ? String(segment)
          : `${out}.${String(segment)}`,
    ""
  )

const issueMessage = (issue: ParseResult.ArrayFormatterIssue): string => {
  switch (issue._tag) {
    case "Unexpected":
      return "unknown key"
    case "Missing":
      return "is required"
    default:
      return issue.message
  }
}

export const formatParseError = (error: ParseResult.ParseError): Problems =>
  Arr.dedupe(
    ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => {
      const where = formatPath(issue.path)
      return `${where === "" ? "config" : where}: ${issueMessage(issue)}`
    })
  )

const variablePattern = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

/**
 * `${VAR}` and `${VAR:-default}` inside string values; `$$` is a literal `$`. Substitution runs on
 * parsed values, never on the raw text, so a password holding `#` or `: ` cannot change the YAML's
 * structure.
 */
const substitute = (
  value: unknown,
  where: string,
  env: LoadInput["env"],
  problems: Array<string>
): unknown => {
  if (typeof value === "string") {
    return value.replace(variablePattern, (whole, name: string | undefined, fallback: string | undefined) => {
      if (whole === "$$") return "$"
      const found = env[name!]
      if (found !== undefined && found !== "") return found
      if (fallback !== undefined) return fallback
      problems.push(`${where || "config"}: environment variable ${name} is not set`)
      return ""
    })
  }
  if (Array.isArray(value)) return value.map((item, i) => substitute(item, `${where}[${i}]`, env, problems))
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) {
      out[key] = substitute(item, where === "" ? key : `${where}.${key}`, env, problems)
    }
    return out
  }
  return value
}

const yamlProblem = (message: string, at?: { readonly line: number; readonly col: number }) =>
  `config: YAML error${at ? ` at line ${at.line}, column ${at.col}` : ""}: ${message.split("\n")[0]}`

const readYaml = (text: string): Either.Either<unknown, Problems> => {
  // `linePos` is only filled in with `prettyErrors`, which also rewrites the message over several
  // lines; a LineCounter gives the position without that.
  const lineCounter = new LineCounter()
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter })
  if (document.errors.length > 0) {
    return Either.left(
      document.errors.map((error) => yamlProblem(error.message, lineCounter.linePos(error.pos[0])))
    )
  }
  let value: unknown
  try {
    value = document.toJS({ maxAliasCount: 100 })
  } catch (error) {
    // Too many alias expansions (a "billion laughs" file) throws here rather than reporting an error.
    return Either.left([yamlProblem(error instanceof Error ? error.message : String(error))])
  }
  if (value === null || value === undefined) return Either.right({})
  if (typeof value !== "object" || Array.isArray(value))
    return Either.left(["config: expected a mapping of sections"])
  return Either.right(value)
}

const isMapping = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value)

/**
 * `PONDPILOT_ENVIRONMENT` overrides the file's `environment`. Without either, `NODE_ENV=production`
 * (set by the image) means production: a container started without a config file must not come up
 * as a development server on every interface with made-up keys.
 */
const environmentOf = (raw: Record<string, unknown>, env: LoadInput["env"]): unknown =>
  env.PONDPILOT_ENVIRONMENT ||
  (raw.environment === undefined && env.NODE_ENV === "production" ? "production" : raw.environment)

const envOverrides = (raw: Record<string, unknown>, env: LoadInput["env"]): Record<string, unknown> => {
  const environment = environmentOf(raw, env)
  if (environment !== raw.environment) raw = { ...raw, environment }
  const overrides: Record<string, unknown> = {}
  if (env.PORT) overrides.port = env.PORT
  if (env.HOST) overrides.host = env.HOST
  // A `server` that is not a mapping stays as written so that decoding reports it.
  if (Object.keys(overrides).length === 0 || !(raw.server === undefined || isMapping(raw.server))) return raw
  return { ...raw, server: { ...raw.server, ...overrides } }
}

/**
 * Aliases repeated among the configured databases, found on the raw list: the schema's own check
 * runs only once every item decodes, so a bad item elsewhere would hide it until the next run.
 */
const rawDuplicateAlias = (raw: Record<string, unknown>): Array<string> => {
  const databases = isMapping(raw.duckdb) ? raw.duckdb.attached_databases : undefined
  if (!Array.isArray(databases)) return []
  const aliases = databases.flatMap((item) =>
    isMapping(item) && typeof item.alias === "string" ? [item.alias] : []
  )
  const duplicate = duplicateAlias(aliases)
  return duplicate === undefined ? [] : [`duckdb.attached_databases: ${duplicate}`]
}

const parseApiKeys = (value: string | undefined): Array<string> =>
  (value ?? "")
    .split(",")
    .map((key) => key.trim())
    .filter((key) => key !== "")

const generatedKey = (prefix: string) => `${prefix}${randomBytes(24).toString("base64url")}`

const productionProblems = (config: ConfigFile, env: LoadInput["env"]): Array<string> => {
  const problems: Array<string> = []
  const auth = config.security.authentication
  if (auth.type === "none") problems.push("security.authentication.type: none is not allowed in production")
  if (auth.type === "api-key" && parseApiKeys(env.API_KEY).length === 0)
    problems.push("API_KEY: required in production with api-key authentication")
  if (auth.type === "jwt" && auth.jwt.jwks_url === undefined && (env.JWT_SECRET ?? "").length < 32) {
    problems.push("JWT_SECRET: required in production, at least 32 characters")
  }
  if (!env.ENCRYPTION_KEY) problems.push("ENCRYPTION_KEY: required in production")
  else if (env.ENCRYPTION_KEY.length < 32) problems.push("ENCRYPTION_KEY: must be at least 32 characters")
  if (config.server.cors_origins.includes("*"))
    problems.push('server.cors_origins: "*" is not allowed in production')
  return problems
}

/**
 * When production came from the environment rather than the file, says so and how to ask for a
 * development server instead: someone trying the image expects that hint.
 */
const productionHint = (raw: unknown, env: LoadInput["env"]): Array<string> =>
  env.PONDPILOT_ENVIRONMENT || !(isMapping(raw) && raw.environment !== undefined)
    ? [
        `environment: production (from ${env.PONDPILOT_ENVIRONMENT ? "PONDPILOT_ENVIRONMENT" : "NODE_ENV=production, as in the image"}); PONDPILOT_ENVIRONMENT=development runs a development server with generated keys instead`
      ]
    : []

/** Reads, substitutes, decodes and checks the configuration; every problem found, not just the first. */
export const loadSettings = (input: LoadInput): Either.Either<Settings, Problems> => {
  const configFile = input.env.CONFIG_FILE
    ? Option.some(path.resolve(input.cwd, input.env.CONFIG_FILE))
    : Option.none()
  let raw: unknown = {}
  if (Option.isSome(configFile)) {
    const text = input.readFile(configFile.value)
    if (typeof text !== "string") {
      // The operator's own setting, said back at start on stderr: the path it resolved to and why.
      const why = text === undefined ? "" : `: ${text.unreadable}`
      return Either.left([`CONFIG_FILE: cannot read ${configFile.value}${why}`])
    }
    const parsed = readYaml(text)
    if (Either.isLeft(parsed)) return Either.left(parsed.left)
    raw = parsed.right
  }
  const problems: Array<string> = []
  const substituted = withEnvironmentDefaults(
    envOverrides(substitute(raw, "", input.env, problems) as Record<string, unknown>, input.env)
  )
  const decoded = Schema.decodeUnknownEither(ConfigFile, { errors: "all", onExcessProperty: "error" })(
    substituted
  )
  if (Either.isLeft(decoded)) {
    // A value left empty by an unset variable is already reported; its decoding failure is noise.
    const unset = problems.map((problem) => problem.slice(0, problem.indexOf(": ")))
    const isUnder = (problem: string) =>
      unset.some(
        (where) =>
          problem.startsWith(`${where}: `) ||
          problem.startsWith(`${where}.`) ||
          problem.startsWith(`${where}[`)
      )
    problems.push(
      ...formatParseError(decoded.left).filter((problem) => !isUnder(problem)),
      ...rawDuplicateAlias(substituted)
    )
  }
  if (problems.length > 0 || Either.isLeft(decoded)) return Either.left(Arr.dedupe(problems))

  const config = decoded.right
  const production = config.environment === "production" ? productionProblems(config, input.env) : []
  const refused = [
    ...production,
    ...(production.length > 0 ? productionHint(raw, input.env) : []),
    ...traceProblems(config.tracing, input.env)
  ]
  const auth = config.security.authentication
  const jwtSecretRefused = refused.some((problem) => problem.startsWith("JWT_SECRET: "))
  if (auth.type === "jwt" && auth.jwt.jwks_url === undefined && !input.env.JWT_SECRET && !jwtSecretRefused) {
    refused.push("JWT_SECRET: required with jwt authentication (or set security.authentication.jwt.jwks_url)")
  }

  const apiKeys = parseApiKeys(input.env.API_KEY)
  const generateApiKey = auth.type === "api-key" && apiKeys.length === 0
  const encryptionKey = input.env.ENCRYPTION_KEY || generatedKey("ephemeral_")
  const settings: Settings = {
    ...config,
    secrets: {
      apiKeys: (generateApiKey ? [generatedKey("ppk_dev_")] : apiKeys).map((key) => Redacted.make(key)),
      encryptionKey: Redacted.make(encryptionKey),
      jwtSecret: Option.map(Option.fromNullable(input.env.JWT_SECRET || undefined), (secret) =>
        Redacted.make(secret)
      )
    },
    generated: { apiKey: generateApiKey, encryptionKey: !input.env.ENCRYPTION_KEY },
    traces: traceExportOf(config.tracing, input.env),
    configDir: Option.match(configFile, { onNone: () => input.cwd, onSome: (file) => path.dirname(file) }),
    configFile
  }
  // Everything a decoded file can be refused for, in one run: the environment's and the deeper checks'.
  const all = [...refused, ...(input.check?.(settings) ?? [])]
  return all.length > 0 ? Either.left(Arr.dedupe(all)) : Either.right(settings)
}
