import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { captureProcess } from "./Logs.js"

export const projectRoot = path.resolve(import.meta.dirname, "../..")

/** The built server, built once if a test run did not go through `npm test`'s build first. */
export const ensureBuilt = (): void => {
  if (!fs.existsSync(path.join(projectRoot, "dist/pondpilot-proxy.mjs"))) {
    execFileSync("npm", ["run", "build", "--silent"], { cwd: projectRoot, stdio: "inherit" })
  }
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

export const tempDir = (prefix: string): string =>
  fs.mkdtempSync(path.join(os.tmpdir(), `pondpilot-${prefix}-`))

export interface ServerProcess {
  readonly child: ChildProcess
  readonly url: string
  stdout(): string
  stderr(): string
  /** Resolves with the exit code (or signal name) once the process has ended. */
  readonly exited: Promise<number | string>
  stop(signal?: NodeJS.Signals): Promise<number | string>
}

/** Starts a command that runs the server and collects what it prints. */
export const spawnServer = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly env: Record<string, string>; readonly port: number; readonly cwd?: string }
): ServerProcess => {
  const child = spawn(command, args, {
    cwd: options.cwd ?? projectRoot,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...options.env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let out = ""
  let err = ""
  child.stdout!.on("data", (chunk: Buffer) => {
    out += chunk.toString()
  })
  child.stderr!.on("data", (chunk: Buffer) => {
    err += chunk.toString()
  })
  captureProcess(`${command} ${args.join(" ")} on port ${options.port}`, () => `${err}\n${out}`)
  const exited = new Promise<number | string>((resolve) =>
    // "close", not "exit": only then has everything the child printed been read.
    child.once("close", (code, signal) => resolve(code ?? signal ?? "unknown"))
  )
  return {
    child,
    url: `http://127.0.0.1:${options.port}`,
    stdout: () => out,
    stderr: () => err,
    exited,
    stop: (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    }
  }
}

/** Polls `/health` until the server answers, or fails with what it printed. */
export const waitUntilHealthy = async (server: ServerProcess, timeoutMs = 30_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) {
      throw new Error(
        `server exited early (${server.child.exitCode}):\n${server.stderr()}\n${server.stdout()}`
      )
    }
    try {
      const response = await fetch(`${server.url}/health`)
      if (response.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`server did not become healthy:\n${server.stderr()}\n${server.stdout()}`)
}

/** The JSON lines a server wrote on stdout. */
export const jsonLines = (text: string): Array<Record<string, unknown>> =>
  text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>)
