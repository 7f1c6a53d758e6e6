import { execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, jsonLines, tempDir } from "../support/Process.js"
import { instructionsOf, parseDockerfile } from "./dockerfile.js"
import { inImage, type ReplayLog, replay, type StageState } from "./dockerReplay.js"
import { readRepoFile, repoRoot } from "./files.js"

/**
 * No Docker engine runs here, so the Dockerfile is replayed: its stages in directories standing for
 * their root filesystems, from the files `docker build .` would send, then the result is started as
 * the image's ENTRYPOINT/CMD would start it, with the image's environment and user.
 */

const dockerfile = parseDockerfile(readRepoFile("Dockerfile"))
const runtime = dockerfile.stages.at(-1)!
const execFileAsync = promisify(execFile)

// The image's PATH (node's official images) with this machine's node in front.
const imagePath = `${path.dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`
const apiKey = "replay-key-0123456789"

describe("the Dockerfile, replayed outside Docker (slow: npm ci twice and a build, about a minute)", () => {
  let workspace: string
  let image: StageState
  let log: ReplayLog

  beforeAll(async () => {
    workspace = tempDir("image")
    // The runtime user must be able to reach the image's files, as it can in the image.
    fs.chmodSync(workspace, 0o755)
    const replayed = await replay(dockerfile, repoRoot, workspace, {
      // The shared npm cache, preferred over the registry: the same packages, much faster.
      runEnv: { npm_config_prefer_offline: "true", npm_config_update_notifier: "false" }
    })
    image = replayed.image
    log = replayed.log
  }, 600_000)

  afterAll(() => {
    if (workspace !== undefined) fs.rmSync(workspace, { recursive: true, force: true })
  })

  it("runs every build step, or says why a step cannot run outside an image", () => {
    const steps = dockerfile.stages.flatMap((stage) =>
      instructionsOf(stage, "RUN").flatMap((run) => run.args.split(/\s*&&\s*/))
    )
    const ran = log.ran.map((command) => command.replace(/ --dry-run$/, ""))
    const skipped = log.skipped.map((step) => step.command)
    // Each step exactly once, in the Dockerfile's order, either run or skipped.
    expect([...ran, ...skipped].sort()).toEqual([...steps].sort())
    expect(ran).toEqual(steps.filter((step) => ran.includes(step)))
    // What is run: the installs, the build, the extension install (planned only: no network here).
    expect(ran).toEqual([
      expect.stringMatching(/^npm ci\b(?!.*--omit)/),
      "npm run build",
      expect.stringMatching(/^node scripts\/install-extensions\.mjs /),
      expect.stringMatching(/^npm ci --omit=dev\b/)
    ])
    // What is not: setting up the operating system, and shrinking the image.
    for (const step of skipped)
      expect(step).toMatch(/^(apt-get|rm -rf \/var\/lib\/apt\/lists|groupadd|useradd|npm cache clean)\b/)
    // The extensions go where the server looks for them in the image, for every database type.
    expect(log.extensionsPlan?.directory).toBe("/opt/pondpilot/extensions")
    expect(log.extensionsPlan?.install).toEqual(expect.arrayContaining(["postgres", "mysql", "sqlite"]))
    expect(fs.existsSync(path.join(image.root, "opt/pondpilot/extensions"))).toBe(true)
  })

  it("ships the compiled server, the launcher and production dependencies only", () => {
    const app = path.join(image.root, image.workdir)
    expect(fs.readdirSync(app).sort()).toEqual(["bin", "dist", "node_modules", "package.json"])
    expect(fs.existsSync(path.join(app, "dist/pondpilot-proxy.mjs"))).toBe(true)
    const modules = path.join(app, "node_modules")
    for (const needed of ["@duckdb/node-api", "effect", "@effect/platform-node", "prom-client", "yaml"])
      expect(fs.existsSync(path.join(modules, needed)), needed).toBe(true)
    for (const devOnly of ["typescript", "vitest", "@biomejs", "playwright-core", "ajv"])
      expect(fs.existsSync(path.join(modules, devOnly)), devOnly).toBe(false)
    // Nothing secret or source-only came through the build context.
    const everything = fs
      .readdirSync(image.root, { recursive: true })
      .map(String)
      .filter((file) => !file.includes("node_modules/"))
    expect(everything.filter((file) => /(^|\/)\.env$|\.pem$|(^|\/)src\/.*\.ts$/.test(file))).toEqual([])
  })

  it("starts as ENTRYPOINT/CMD would, and answers /health, its HEALTHCHECK and a query", async () => {
    const port = await freePort()
    const env: Record<string, string> = {
      PATH: imagePath,
      HOME: "/nonexistent",
      ...image.env,
      PORT: String(port),
      API_KEY: apiKey
    }
    expect(env.HOST).toBe("0.0.0.0")
    const [user, group] = (image.user ?? "").split(":").map(Number)
    // As the image's numeric user when we may switch to it (root); as ourselves otherwise.
    const identity = process.getuid?.() === 0 && user !== undefined ? { uid: user, gid: group ?? user } : {}
    if (!("uid" in identity))
      console.warn("image replay: not root, so the server runs as this user, not USER")
    const command = instructionsOf(runtime, "CMD")
      .at(-1)!
      .exec!.map((part) => inImage(image, part))
    // tini (ENTRYPOINT) is an OS package of the image; the launcher execs node, which gets the signal.
    const child = spawn(command[0]!, command.slice(1), {
      cwd: path.join(image.root, image.workdir),
      env,
      stdio: ["ignore", "pipe", "pipe"],
      ...identity
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const exited = new Promise<number | string>((resolve) =>
      child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"))
    )
    try {
      const url = `http://127.0.0.1:${port}`
      const deadline = Date.now() + 30_000
      let healthy = false
      while (!healthy && Date.now() < deadline && child.exitCode === null) {
        healthy = await fetch(`${url}/health`).then(
          (response) => response.ok,
          () => false
        )
        if (!healthy) await new Promise((resolve) => setTimeout(resolve, 100))
      }
      expect(healthy, `${stderr}\n${stdout}`).toBe(true)

      // The HEALTHCHECK exactly as Docker runs it: its exec form, inside the container's environment.
      const healthcheck = instructionsOf(runtime, "HEALTHCHECK")[0]!.exec!
      const checked = await execFileAsync(healthcheck[0]!, healthcheck.slice(1), {
        env,
        timeout: 10_000,
        ...identity
      }).then(
        () => 0,
        (error: { code?: number }) => error.code ?? -1
      )
      expect(checked).toBe(0)

      const answer = await fetch(`${url}/v1/instances/default/query`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": apiKey },
        body: JSON.stringify({ query: "SELECT 42 AS answer" })
      })
      expect(answer.status).toBe(200)
      expect(((await answer.json()) as { rows: unknown }).rows).toEqual([[42]])

      // The launcher's process limits reached node (it execs, so the child is node itself).
      const environ = fs.readFileSync(`/proc/${child.pid}/environ`, "utf8").split("\0")
      expect(environ).toContain("UV_THREADPOOL_SIZE=64")
      expect(fs.readFileSync(`/proc/${child.pid}/cmdline`, "utf8")).toContain("dist/pondpilot-proxy.mjs")
      const limit = /Max address space\s+(\S+)/.exec(
        fs.readFileSync(`/proc/${child.pid}/limits`, "utf8")
      )![1]!
      expect(limit).not.toBe("unlimited")
      expect(Number(limit)).toBeGreaterThanOrEqual(4 * 1024 ** 3)
    } finally {
      child.kill("SIGTERM")
    }
    expect(await exited).toBe(0)
    // Everything it printed on stdout is JSON, one object per line.
    expect(jsonLines(stdout).length).toBeGreaterThan(0)
  }, 60_000)
})
