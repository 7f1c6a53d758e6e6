/**
 * A small Dockerfile reader for tests: enough to check what a build cannot show (the default base
 * image, the docs and the other deployment files agreeing with it); `npm run test:image` builds and
 * runs the image for real. Not a full implementation of the format: no
 * heredocs, no escape-directive changes, `${VAR}` resolved in FROM lines only (from global ARGs).
 */

export interface Instruction {
  /** Upper-case: FROM, RUN, COPY, ENV, ... */
  readonly keyword: string
  /** Everything after the flags, continuation lines joined with a space. */
  readonly args: string
  /** `--from=build`, `--interval=30s`: flag name without dashes → value ("" for bare flags). */
  readonly flags: Readonly<Record<string, string>>
  /** The JSON (exec) form's array, when the arguments are one (after `CMD` for HEALTHCHECK). */
  readonly exec?: ReadonlyArray<string>
  /** 1-based line of the instruction's first line. */
  readonly line: number
}

export interface Stage {
  readonly name?: string
  /** The base image with global ARG defaults substituted. */
  readonly base: string
  readonly instructions: ReadonlyArray<Instruction>
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  readonly globalArgs: Readonly<Record<string, string>>
  readonly stages: ReadonlyArray<Stage>
}

const joinLogicalLines = (text: string): Array<{ readonly text: string; readonly line: number }> => {
  const out: Array<{ text: string; line: number }> = []
  let current: { text: string; line: number } | undefined
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim()
    // Comment lines end nothing: Docker drops them even inside a continued instruction.
    if (trimmed.startsWith("#")) return
    if (current === undefined) {
      if (trimmed === "") return
      current = { text: "", line: index + 1 }
    }
    const continued = /\\\s*$/.test(raw)
    current.text += `${current.text === "" ? "" : " "}${(continued ? raw.replace(/\\\s*$/, "") : raw).trim()}`
    if (!continued) {
      out.push(current)
      current = undefined
    }
  })
  if (current !== undefined) out.push(current)
  return out
}

const parseExec = (text: string): ReadonlyArray<string> | undefined => {
  if (!text.startsWith("[")) return undefined
  try {
    const parsed: unknown = JSON.parse(text)
    return Array.isArray(parsed) && parsed.every((item) => typeof item === "string") ? parsed : undefined
  } catch {
    return undefined
  }
}

const splitFlags = (rest: string): { flags: Record<string, string>; args: string } => {
  const flags: Record<string, string> = {}
  let args = rest
  for (;;) {
    const match = /^--([A-Za-z-]+)(?:=(\S*))?\s*/.exec(args)
    if (match === null) break
    flags[match[1]!] = match[2] ?? ""
    args = args.slice(match[0].length)
  }
  return { flags, args }
}

const substitute = (text: string, args: Readonly<Record<string, string>>): string =>
  text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, a, b) => {
    const value = args[(a ?? b) as string]
    return value ?? whole
  })

export const parseDockerfile = (text: string): Dockerfile => {
  const globalArgs: Record<string, string> = {}
  const stages: Array<{ name?: string; base: string; instructions: Array<Instruction> }> = []
  for (const logical of joinLogicalLines(text)) {
    const match = /^(\S+)\s*(.*)$/.exec(logical.text)!
    const keyword = match[1]!.toUpperCase()
    const { flags, args } = splitFlags(match[2]!)
    const execText = keyword === "HEALTHCHECK" ? args.replace(/^CMD\s+/i, "") : args
    const exec = parseExec(execText)
    const instruction: Instruction = {
      keyword,
      args,
      flags,
      line: logical.line,
      ...(exec === undefined ? {} : { exec })
    }
    if (keyword === "FROM") {
      const [image, as, name] = args.split(/\s+/)
      stages.push({
        base: substitute(image!, globalArgs),
        ...(as?.toUpperCase() === "AS" && name ? { name } : {}),
        instructions: [instruction]
      })
    } else if (stages.length === 0) {
      if (keyword === "ARG") {
        const [key, value] = args.split("=", 2)
        globalArgs[key!] = value ?? ""
      }
    } else {
      stages[stages.length - 1]!.instructions.push(instruction)
    }
  }
  return { globalArgs, stages }
}

/** `ENV A=1 B="two words"` (and the legacy `ENV A value`) as key → value. */
export const parseEnv = (args: string): Record<string, string> => {
  const out: Record<string, string> = {}
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) {
    const [key, ...rest] = args.split(/\s+/)
    out[key!] = rest.join(" ")
    return out
  }
  for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
    const raw = match[2]!
    out[match[1]!] = /^["']/.test(raw) ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw
  }
  return out
}

export const stageNamed = (dockerfile: Dockerfile, name: string): Stage => {
  const stage = dockerfile.stages.find((candidate) => candidate.name === name)
  if (stage === undefined) throw new Error(`no stage named ${name}`)
  return stage
}

export const instructionsOf = (stage: Stage, keyword: string): ReadonlyArray<Instruction> =>
  stage.instructions.filter((instruction) => instruction.keyword === keyword)

/** The environment a stage's instructions see (its ENV lines, in order). */
export const stageEnv = (stage: Stage): Record<string, string> =>
  Object.assign({}, ...instructionsOf(stage, "ENV").map((instruction) => parseEnv(instruction.args)))
