import { execFile, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"

/**
 * Podman as the image tests use it: its own storage under a cache directory (nothing else on the
 * machine is touched), runc (crun refuses some cgroup layouts, this machine's among them) and
 * cgroupfs (no systemd needed).
 */

export const cacheDir =
  process.env.PONDPILOT_IMAGE_TEST_CACHE ?? path.join(os.homedir(), ".cache/pondpilot-image-test")

/** The project's image as the tests build it. */
export const imageTag = "localhost/pondpilot-proxy:image-test"

export const podmanGlobalArgs = [
  "--root",
  path.join(cacheDir, "storage"),
  "--runroot",
  path.join(cacheDir, "run"),
  "--runtime",
  "runc",
  "--cgroup-manager=cgroupfs",
  "--events-backend=file"
]

const run = promisify(execFile)

export interface Output {
  readonly stdout: string
  readonly stderr: string
}

/** Runs `podman …`; fails with what podman printed. */
export const podman = async (args: ReadonlyArray<string>, options: { readonly timeoutMs?: number } = {}) => {
  try {
    return await run("podman", [...podmanGlobalArgs, ...args], {
      maxBuffer: 64 * 1024 * 1024,
      timeout: options.timeoutMs ?? 120_000
    })
  } catch (error) {
    const failed = error as Error & Partial<Output>
    throw new Error(`podman ${args.slice(0, 2).join(" ")} failed: ${failed.message}\n${failed.stderr ?? ""}`)
  }
}

/** Runs `podman …` with its output going to `logFile` (a long build); fails naming the file. */
export const podmanLogged = (args: ReadonlyArray<string>, logFile: string, timeoutMs: number) =>
  new Promise<void>((resolve, reject) => {
    const out = fs.openSync(logFile, "w")
    const child = spawn("podman", [...podmanGlobalArgs, ...args], { stdio: ["ignore", out, out] })
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs)
    child.once("close", (code, signal) => {
      clearTimeout(timer)
      fs.closeSync(out)
      if (code === 0) resolve()
      else {
        const tail = fs.readFileSync(logFile, "utf8").split("\n").slice(-30).join("\n")
        reject(
          new Error(`podman ${args[0]} failed (${code ?? signal}); the whole log is ${logFile}:\n${tail}`)
        )
      }
    })
  })

/** Exit code and output of `podman …`, without failing on a non-zero exit. */
export const podmanStatus = async (
  args: ReadonlyArray<string>
): Promise<Output & { readonly code: number }> =>
  run("podman", [...podmanGlobalArgs, ...args], { maxBuffer: 16 * 1024 * 1024, timeout: 120_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof error.code === "number" ? error.code : -1,
      stdout: error.stdout ?? "",
      stderr: error.stderr ?? ""
    })
  )

/** This process's soft limit, from /proc/self/limits (dash's ulimit knows no -u). */
const soft = (name: "Max open files" | "Max processes"): number => {
  const line = fs
    .readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((l) => l.startsWith(name))
  const value = line?.slice(name.length).trim().split(/\s+/)[0]
  return value === undefined || value === "unlimited" ? Number.POSITIVE_INFINITY : Number(value)
}

/**
 * Limits at or below this machine's own: podman's defaults (nofile 1048576) are refused where the
 * machine allows fewer.
 */
export const ulimitArgs = (): Array<string> => {
  const nofile = Math.min(soft("Max open files"), 65_536)
  const nproc = Math.min(soft("Max processes"), 4096)
  return ["--ulimit", `nofile=${nofile}:${nofile}`, "--ulimit", `nproc=${nproc}:${nproc}`]
}

/** What the image tier needs, or why it cannot run here. */
export const missingRuntime = (): string | undefined => {
  if (process.platform !== "linux") return "container tests need Linux"
  if (process.getuid?.() !== 0) return "container tests need root (debootstrap and podman's own storage)"
  const missing = ["podman", "runc", "debootstrap", "tar"].filter(
    (tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0
  )
  if (missing.length > 0) return `${missing.join(", ")} not found (apt-get install podman runc debootstrap)`
  return undefined
}

export const ensureCacheDir = () => fs.mkdirSync(cacheDir, { recursive: true })
