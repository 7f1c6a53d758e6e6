import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { promisify } from "node:util"
import { type Dockerfile, type Instruction, parseEnv, type Stage } from "./dockerfile.js"

/**
 * Replays a Dockerfile's stages outside Docker, each stage in a directory standing for its root
 * filesystem: COPY takes files from the build context (the repository's files less .dockerignore)
 * or from another stage, WORKDIR and ENV are applied, and RUN steps are run where that means the
 * same thing outside an image (npm, the project's own scripts). Steps that set up the operating
 * system (apt-get, useradd) cannot be replayed; every RUN step must be one of the known kinds, so
 * a new step in the Dockerfile fails the replay until the replay knows it.
 */

const run = promisify(execFile)

// ---------------------------------------------------------------------------------------------
// The build context

interface IgnoreRule {
  readonly regex: RegExp
  readonly negated: boolean
}

const globToRegex = (pattern: string): RegExp => {
  let out = ""
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!
    if (char === "*" && pattern[i + 1] === "*") {
      i++
      if (pattern[i + 1] === "/") {
        i++
        out += "(?:.*/)?"
      } else out += ".*"
    } else if (char === "*") out += "[^/]*"
    else if (char === "?") out += "[^/]"
    else out += char.replace(/[.+^${}()|[\]\\]/g, "\\$&")
  }
  return new RegExp(`^${out}$`)
}

/** `.dockerignore` as Docker reads it: anchored at the root, a match on a directory covers its files, last rule wins. */
export const dockerIgnore = (text: string): ((file: string) => boolean) => {
  const rules: Array<IgnoreRule> = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const negated = line.startsWith("!")
      const pattern = path.posix.normalize((negated ? line.slice(1) : line).trim()).replace(/^\/+|\/+$/g, "")
      return { regex: globToRegex(pattern), negated }
    })
  return (file) => {
    const parts = file.split("/")
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"))
    let ignored = false
    for (const rule of rules) if (prefixes.some((prefix) => rule.regex.test(prefix))) ignored = !rule.negated
    return ignored
  }
}

/** The files `docker build .` would send: what git knows of (tracked or new, not git-ignored), less .dockerignore. */
export const buildContext = (repo: string): ReadonlyArray<string> => {
  const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: repo,
    encoding: "utf8"
  })
    .split("\0")
    .filter((file) => file !== "")
  const ignoreFile = path.join(repo, ".dockerignore")
  const ignored = fs.existsSync(ignoreFile) ? dockerIgnore(fs.readFileSync(ignoreFile, "utf8")) : () => false
  return [...new Set(listed)].filter((file) => fs.existsSync(path.join(repo, file)) && !ignored(file))
}

// ---------------------------------------------------------------------------------------------
// Stages

export interface StageState {
  readonly name: string
  /** The directory standing for the stage's `/`. */
  readonly root: string
  workdir: string
  env: Record<string, string>
  user?: string
}

export interface ReplayLog {
  readonly ran: Array<string>
  readonly skipped: Array<{ readonly command: string; readonly reason: string }>
  /** The install-extensions plan (from its --dry-run), with the directory as the image has it. */
  extensionsPlan?: { readonly directory: string; readonly install: ReadonlyArray<string> }
}

export const rooted = (root: string, absolute: string): string => path.join(root, absolute)

/** An absolute path of the image as a path of the replay (when it exists there), else unchanged. */
export const inImage = (stage: StageState, file: string): string =>
  file.startsWith("/") && fs.existsSync(rooted(stage.root, file)) ? rooted(stage.root, file) : file

const copyInto = (from: string, to: string) => {
  fs.mkdirSync(path.dirname(to), { recursive: true })
  fs.cpSync(from, to, { recursive: true, verbatimSymlinks: true, force: true })
}

const applyCopy = (
  stage: StageState,
  instruction: Instruction,
  repo: string,
  context: ReadonlyArray<string>,
  stages: ReadonlyMap<string, StageState>
) => {
  const parts = instruction.exec ?? instruction.args.split(/\s+/)
  const sources = parts.slice(0, -1)
  const target = parts.at(-1)!
  if ([...sources, target].some((part) => /[*?[]/.test(part)))
    throw new Error(`line ${instruction.line}: COPY with wildcards is not replayed`)
  const destination = path.posix.resolve(stage.workdir, target)
  const intoDirectory = target.endsWith("/") || sources.length > 1
  const from = instruction.flags.from
  for (const source of sources) {
    if (from !== undefined) {
      const other = stages.get(from)
      if (other === undefined) throw new Error(`line ${instruction.line}: no stage ${from} before this one`)
      const origin = rooted(other.root, source)
      if (!fs.existsSync(origin))
        throw new Error(`line ${instruction.line}: ${source} does not exist in stage ${from}`)
      const isDirectory = fs.statSync(origin).isDirectory()
      const to =
        intoDirectory && !isDirectory ? path.posix.join(destination, path.basename(source)) : destination
      copyInto(origin, rooted(stage.root, to))
      continue
    }
    const clean = path.posix.normalize(source).replace(/^\.\/|\/$/g, "")
    const files = context.filter((file) => file === clean || file.startsWith(`${clean}/`))
    if (files.length === 0)
      throw new Error(
        `line ${instruction.line}: ${source} is not in the build context (missing or docker-ignored)`
      )
    for (const file of files) {
      const relative = file === clean ? path.basename(file) : path.posix.relative(clean, file)
      const to = file === clean && !intoDirectory ? destination : path.posix.join(destination, relative)
      copyInto(path.join(repo, file), rooted(stage.root, to))
    }
  }
}

export interface ReplayOptions {
  /** Environment added to every RUN step (e.g. npm's cache settings); not part of the image. */
  readonly runEnv?: Readonly<Record<string, string>>
}

const systemSetup = /^(apt-get|rm -rf \/var\/lib\/apt\/lists|groupadd|useradd)\b/

const applyRun = async (
  stage: StageState,
  instruction: Instruction,
  log: ReplayLog,
  options: ReplayOptions
) => {
  if (instruction.exec !== undefined)
    throw new Error(`line ${instruction.line}: exec-form RUN is not replayed`)
  const cwd = rooted(stage.root, stage.workdir)
  fs.mkdirSync(cwd, { recursive: true })
  // What a build container has: PATH and HOME, the stage's ENV; nothing of the test runner's own.
  const env = {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: process.env.HOME ?? "/root",
    ...stage.env,
    ...options.runEnv
  }
  for (const command of instruction.args.split(/\s*&&\s*/)) {
    if (systemSetup.test(command)) {
      log.skipped.push({ command, reason: "sets up the operating system of the image" })
      continue
    }
    if (/^npm cache clean\b/.test(command)) {
      log.skipped.push({
        command,
        reason: "only makes the image smaller; here it would empty the shared npm cache"
      })
      continue
    }
    // The image's absolute paths are the replay's paths under the stage root.
    const local = command.replace(
      /(^|\s)(\/[^\s]+)/g,
      (_, space: string, file: string) => `${space}${rooted(stage.root, file)}`
    )
    if (/^node scripts\/install-extensions\.mjs\b/.test(command)) {
      // No network here: plan the install (what, and where), then make the directory it fills.
      const { stdout } = await run("sh", ["-c", `${local} --dry-run`], { cwd, env })
      const plan = JSON.parse(stdout.trim()) as { directory: string; install: ReadonlyArray<string> }
      fs.mkdirSync(plan.directory, { recursive: true })
      log.extensionsPlan = { ...plan, directory: `/${path.relative(stage.root, plan.directory)}` }
      log.ran.push(`${command} --dry-run`)
      continue
    }
    if (!/^npm (ci|run)\b/.test(command))
      throw new Error(`line ${instruction.line}: the replay does not know "${command}"`)
    try {
      await run("sh", ["-c", local], { cwd, env, maxBuffer: 64 * 1024 * 1024 })
    } catch (error) {
      const { stderr, stdout } = error as { stderr?: string; stdout?: string }
      throw new Error(`line ${instruction.line}: "${command}" failed:\n${stderr ?? ""}\n${stdout ?? ""}`)
    }
    log.ran.push(command)
  }
}

/** Replays every stage of `dockerfile` under `workspace`; returns the stages' states (the last is the image). */
export const replay = async (
  dockerfile: Dockerfile,
  repo: string,
  workspace: string,
  options: ReplayOptions = {}
): Promise<{
  readonly stages: ReadonlyMap<string, StageState>
  readonly image: StageState
  readonly log: ReplayLog
}> => {
  const context = buildContext(repo)
  const stages = new Map<string, StageState>()
  const log: ReplayLog = { ran: [], skipped: [] }
  let last: StageState | undefined
  for (const [index, stage] of dockerfile.stages.entries()) {
    const state = await replayStage(stage, index, repo, workspace, context, stages, log, options)
    stages.set(state.name, state)
    last = state
  }
  if (last === undefined) throw new Error("the Dockerfile has no stage")
  return { stages, image: last, log }
}

const replayStage = async (
  stage: Stage,
  index: number,
  repo: string,
  workspace: string,
  context: ReadonlyArray<string>,
  stages: ReadonlyMap<string, StageState>,
  log: ReplayLog,
  options: ReplayOptions
): Promise<StageState> => {
  const name = stage.name ?? String(index)
  const state: StageState = { name, root: path.join(workspace, name), workdir: "/", env: {} }
  fs.mkdirSync(state.root, { recursive: true })
  for (const instruction of stage.instructions) {
    switch (instruction.keyword) {
      case "FROM":
      case "ARG":
      case "EXPOSE":
      case "HEALTHCHECK":
      case "ENTRYPOINT":
      case "CMD":
        break
      case "WORKDIR":
        state.workdir = path.posix.resolve(state.workdir, instruction.args)
        fs.mkdirSync(rooted(state.root, state.workdir), { recursive: true })
        break
      case "ENV":
        state.env = { ...state.env, ...parseEnv(instruction.args) }
        break
      case "USER":
        state.user = instruction.args
        break
      case "COPY":
        applyCopy(state, instruction, repo, context, stages)
        break
      case "RUN":
        await applyRun(state, instruction, log, options)
        break
      default:
        throw new Error(`line ${instruction.line}: ${instruction.keyword} is not replayed`)
    }
  }
  return state
}
