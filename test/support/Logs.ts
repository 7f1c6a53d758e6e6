import { Logger } from "effect"

/**
 * What servers under test print, kept out of the test output and shown only for a failing test
 * (test/support/setup.ts): in-process servers' Effect log lines, and child processes' output.
 * Each test file runs in a fresh module graph, so this holds one file's logs.
 */

const maxLines = 2_000
const maxProcessChars = 20_000
const lines: Array<string> = []
const processes = new Map<string, () => string>()

/** Effect's default logger (logfmt), writing here instead of the console. */
export const capturedLogger = Logger.replace(
  Logger.defaultLogger,
  Logger.map(Logger.logfmtLogger, (line) => {
    lines.push(line)
    if (lines.length > maxLines) lines.splice(0, lines.length - maxLines)
  })
)

/** Registers a child process's output, read when a test fails. */
export const captureProcess = (label: string, output: () => string): void => {
  processes.set(`${label} #${processes.size + 1}`, output)
}

/** Everything captured so far in this file, for a failure report; empty when there is none. */
export const capturedLogs = (): string => {
  const parts: Array<string> = []
  if (lines.length > 0) parts.push(`--- in-process server log ---\n${lines.join("\n")}`)
  for (const [label, output] of processes) {
    const text = output().trim()
    if (text !== "") parts.push(`--- ${label} ---\n${text.slice(-maxProcessChars)}`)
  }
  return parts.join("\n")
}
