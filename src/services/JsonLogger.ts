import {
  Cause,
  Config,
  ConfigError,
  Effect,
  Either,
  FiberRef,
  HashMap,
  HashSet,
  Layer,
  List,
  Logger,
  LogLevel
} from "effect"
import { type LineWriter, LogWriter } from "./LogWriter.js"

/**
 * Effect's logger replaced by one that prints a JSON object per line through the shared
 * `LineWriter`, so that everything on stdout can be parsed line by line by a log shipper:
 * `{"timestamp","level","message", ...annotations (snake_case), "spans"?, "cause"?}`.
 */

const levelNames: Record<LogLevel.LogLevel["_tag"], string> = {
  All: "trace",
  Trace: "trace",
  Debug: "debug",
  Info: "info",
  Warning: "warn",
  Error: "error",
  Fatal: "fatal",
  None: "off"
}

const reservedKeys: ReadonlySet<string> = new Set(["timestamp", "level", "message", "spans", "cause"])

const snakeCache = new Map<string, string>()
/** `requestId` → `request_id`, `HTTPStatus` → `http_status`, `db.alias` → `db_alias`. */
export const snakeCase = (key: string): string => {
  const cached = snakeCache.get(key)
  if (cached !== undefined) return cached
  const converted = key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .toLowerCase()
  // Annotation keys come from code, so the set is small; the cap only guards against a bug.
  if (snakeCache.size < 1_000) snakeCache.set(key, converted)
  return converted
}

const jsonSafe = (_key: string, value: unknown): unknown => {
  if (typeof value === "bigint") return value.toString()
  if (value instanceof Error) return { name: value.name, message: value.message }
  return value
}

/** JSON for any value; what cannot be serialised (cycles) becomes its string form. */
export const stringifyLine = (entry: Record<string, unknown>): string => {
  try {
    return JSON.stringify(entry, jsonSafe)
  } catch {
    const safe: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(entry)) {
      try {
        JSON.stringify(value, jsonSafe)
        safe[key] = value
      } catch {
        safe[key] = String(value)
      }
    }
    return JSON.stringify(safe, jsonSafe)
  }
}

const messagePart = (part: unknown): string => {
  if (typeof part === "string") return part
  if (part instanceof Error) return `${part.name}: ${part.message}`
  try {
    return JSON.stringify(part, jsonSafe) ?? String(part)
  } catch {
    return String(part)
  }
}

const messageText = (message: unknown): string =>
  Array.isArray(message) ? message.map(messagePart).join(" ") : messagePart(message)

/** A logger printing one JSON object per line through `writer`. */
export const jsonLogger = (writer: LineWriter): Logger.Logger<unknown, void> =>
  Logger.make(({ annotations, cause, date, logLevel, message, spans }) => {
    const entry: Record<string, unknown> = {
      timestamp: date.toISOString(),
      level: levelNames[logLevel._tag],
      message: messageText(message)
    }
    for (const [key, value] of HashMap.toEntries(annotations)) {
      const field = snakeCase(key)
      if (!reservedKeys.has(field)) entry[field] = value
    }
    if (!List.isNil(spans)) {
      const now = date.getTime()
      const timings: Record<string, number> = {}
      for (const span of spans) timings[span.label] = now - span.startTime
      entry.spans = timings
    }
    if (!Cause.isEmpty(cause)) entry.cause = Cause.pretty(cause, { renderErrorCause: true })
    writer.write(stringifyLine(entry))
  })

const levelsByName: Record<string, LogLevel.LogLevel> = {
  all: LogLevel.All,
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warn: LogLevel.Warning,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  off: LogLevel.None,
  none: LogLevel.None
}

/** `LOG_LEVEL` (case-insensitive: trace, debug, info, warn, error, fatal, off), default `info`. */
export const logLevelConfig: Config.Config<LogLevel.LogLevel> = Config.string("LOG_LEVEL").pipe(
  Config.withDefault("info"),
  Config.mapOrFail((text) => {
    const level = levelsByName[text.trim().toLowerCase()]
    return level
      ? Either.right(level)
      : Either.left(
          // Names the variable; does not repeat the value.
          ConfigError.InvalidData(
            ["LOG_LEVEL"],
            "expected one of trace, debug, info, warn, error, fatal, off"
          )
        )
  })
)

/**
 * Installs the JSON logger in place of Effect's default (or runMain's pretty) logger, at the level
 * `LOG_LEVEL` asks for. Applies to everything built on top of this layer and the fibers it forks.
 */
export const JsonLoggerLayer: Layer.Layer<never, ConfigError.ConfigError, LogWriter> = Layer.unwrapEffect(
  Effect.gen(function* () {
    const writer = yield* LogWriter
    const level = yield* logLevelConfig
    const json = jsonLogger(writer)
    // NodeRuntime.runMain swaps the default logger for its pretty one unless told not to; either
    // way, ours must be the only console-like logger left, or every line is printed twice.
    const onlyJson = Layer.scopedDiscard(
      Effect.locallyScopedWith(FiberRef.currentLoggers, (loggers) =>
        loggers.pipe(
          HashSet.remove(Logger.defaultLogger),
          HashSet.remove(Logger.prettyLoggerDefault),
          HashSet.add(json)
        )
      )
    )
    return Layer.merge(onlyJson, Logger.minimumLogLevel(level))
  })
)

/** The JSON logger writing to stdout, and the `LogWriter` for `AuditLog` (one writer for both). */
export const LoggingLive: Layer.Layer<LogWriter, ConfigError.ConfigError> = JsonLoggerLayer.pipe(
  Layer.provideMerge(LogWriter.layer)
)
